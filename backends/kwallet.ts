/**
 * The `kwallet` backend: KDE Wallet through kwalletd's own D-Bus API (org.kde.KWallet), spoken
 * on our D-Bus connection (backends/dbus), with no KDE library or helper program.
 *
 * Facts this relies on, and where they come from:
 * - aws-vault (99designs/keyring `kwallet.go`; ByteNess passes the same config, reference §1.1,
 *   its keyring fork's kwallet code not checked): bus name `org.kde.kwalletd5`,
 *   object `/modules/kwalletd5`; wallet name = the keyring ServiceName, which aws-vault sets to
 *   `aws-vault`; app id `aws-vault`; folder `aws-vault` (reference §1.1 "Hardcoded keyring
 *   config", §8.6). Get = `readEntry(handle, folder, key, appid)`, an empty value meaning "not
 *   found"; Set = the 5-argument `writeEntry(handle, folder, key, value, appid)` with the whole
 *   Item JSON as the value (a Stream entry, not a password or map); Remove = `removeEntry`;
 *   Keys = `entryList`; no metadata. It calls `isOpen(handle)` before each operation and
 *   `open(wallet, 0, appid)` when that is false (not enough: see below). Disabled by
 *   DISABLE_KWALLET=1.
 * - Signatures (KDE/kwallet `org.kde.KWallet.xml`): open(s wallet, x wId, s appid) -> i;
 *   isOpen(i) -> b; isEnabled() -> b; hasEntry(i, s folder, s key, s appid) -> b;
 *   readEntry(i, s, s, s) -> ay; writeEntry(i, s, s, ay value, s appid) -> i;
 *   removeEntry(i, s, s, s) -> i; entryList(i, s, s) -> as; sync(i, s appid).
 * - kwalletd semantics (KDE/kwallet `kwalletd.cpp`): `open` returns -1 when access is denied
 *   (the user cancels the password dialog, "Auto Deny", KWallet disabled) and may wait for a
 *   password dialog first; every handle operation whose handle is not open, or has no session
 *   for our app id, answers as if empty (readEntry -> empty, hasEntry -> false, entryList -> [],
 *   writeEntry and removeEntry -> -1). `isOpen(handle)` cannot tell: kwalletd seeds its handle
 *   generator with the time in seconds, so a kwalletd restarted within the same second hands
 *   out the same handle numbers, open but without our session (and kwalletmanager's
 *   "disconnect application" drops the session of an open wallet). removeEntry on a folder that
 *   does not exist returns 0 for a handle that is ours and -1 otherwise, with no side effect: so
 *   an empty answer is believed only after that probe. removeEntry returns -3 for a missing key;
 *   writeEntry creates the folder; writes reach the disk on a 5 s timer, or at once on `sync`.
 *   Plasma 6's kwalletd6 owns `org.kde.kwalletd6` at `/modules/kwalletd6` and queues for the
 *   kwalletd5 name and path too (compatibility); we prefer whichever is running, kwalletd6 first.
 */
import type { Item, ItemMetadata, Keyring } from "./keyring.ts";
import { KeyringError } from "./keyring.ts";
import { decodeItemJson, encodeItemJson } from "./item_json.ts";
import {
  connectSessionBus,
  DbusConnectError,
  DbusDisconnectedError,
  DbusError,
  DbusErrorNames,
  DbusRemoteError,
  DbusTimeoutError,
  type DbusValue,
  type MethodCall,
} from "./dbus/connection.ts";

/** The wallet aws-vault uses (its keyring ServiceName). */
export const KWALLET_WALLET = "aws-vault";
/** The application id aws-vault opens the wallet as (shown in KDE's access dialogs). */
export const KWALLET_APP_ID = "aws-vault";
/** The folder aws-vault stores its items in; `--kwallet-folder` changes it. */
export const DEFAULT_KWALLET_FOLDER = "aws-vault";
/**
 * Largest Item JSON we store: far above any credential or OIDC token, well below the D-Bus
 * connection's message bound (4 MiB), so a huge value fails here, before anything is sent.
 */
export const KWALLET_MAX_ITEM_BYTES = 1024 * 1024;

/** Longest key or folder name (UTF-8 bytes), as for the Secret Service: names stay small. */
export const KWALLET_MAX_NAME_BYTES = 64 * 1024;

const INTERFACE = "org.kde.KWallet";
/** A folder nobody creates: removeEntry in it tells whether a handle is ours (see above). */
const PROBE_FOLDER = "aws-vault handle probe (never created)";

/** A kwalletd on the bus: its well-known name and object path. */
export interface KwalletDaemon {
  name: string;
  path: string;
}

/** The daemons we talk to, in order of preference. */
export const KWALLET_DAEMONS: readonly KwalletDaemon[] = [
  { name: "org.kde.kwalletd6", path: "/modules/kwalletd6" },
  { name: "org.kde.kwalletd5", path: "/modules/kwalletd5" },
];

/** What the backend needs of a bus connection (DbusConnection has it; tests may wrap one). */
export interface KwalletBus {
  readonly closed: boolean;
  call(call: MethodCall, options?: { timeoutMs?: number }): Promise<{ body: DbusValue[] }>;
  close(): void;
}

/** Options for the kwallet keyring. */
export interface KwalletOptions {
  /** Folder in the wallet; default `aws-vault`. */
  folder?: string;
  /** Environment: DBUS_SESSION_BUS_ADDRESS above all. */
  env?: Record<string, string | undefined>;
  /** Opens the bus connection; default: the session bus of `env`. */
  connect?: () => Promise<KwalletBus>;
  /**
   * How long `open` may take: kwalletd may be showing the user a password dialog. Default 120 s.
   */
  openTimeoutMs?: number;
  /** Deadline of every other call. Default 10 s. */
  callTimeoutMs?: number;
}

/** The kwallet keyring; `close()` ends its bus connection (the next operation opens a new one). */
export interface KwalletKeyring extends Keyring {
  close(): Promise<void>;
}

const BUS = {
  destination: "org.freedesktop.DBus",
  path: "/org/freedesktop/DBus",
  interface: "org.freedesktop.DBus",
};

/**
 * The kwalletd to use on this bus: a running kwalletd6, else a running kwalletd5, else (with
 * `activate`) one the bus can start; undefined when there is none.
 */
export async function findKwalletDaemon(
  bus: KwalletBus,
  options: { activate: boolean; timeoutMs?: number },
): Promise<KwalletDaemon | undefined> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  for (const daemon of KWALLET_DAEMONS) {
    const r = await bus.call(
      { ...BUS, member: "NameHasOwner", signature: "s", body: [daemon.name] },
      { timeoutMs },
    );
    if (r.body[0] === true) return daemon;
  }
  if (!options.activate) return undefined;
  const r = await bus.call({ ...BUS, member: "ListActivatableNames" }, { timeoutMs });
  const names = Array.isArray(r.body[0]) ? r.body[0] : [];
  return KWALLET_DAEMONS.find((d) => names.includes(d.name));
}

/**
 * Why the kwallet backend cannot be used, or undefined when a kwalletd answers on the session
 * bus. `activate`: a kwalletd the bus would start on demand counts (an explicit `--backend
 * kwallet`); the automatic choice takes only a running one, so it never starts a daemon that
 * would open a password dialog on a desktop that does not use KWallet. (DISABLE_KWALLET is
 * decided in backends/mod.ts, without loading this module.)
 */
export async function kwalletUnavailable(
  env: Record<string, string | undefined>,
  options: { activate: boolean; connect?: () => Promise<KwalletBus>; timeoutMs?: number },
): Promise<string | undefined> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let bus: KwalletBus;
  try {
    bus = await (options.connect ?? (() =>
      connectSessionBus(env, { connectTimeoutMs: timeoutMs, callTimeoutMs: timeoutMs })))();
  } catch (err) {
    return (err as Error).message;
  }
  try {
    const daemon = await findKwalletDaemon(bus, { activate: options.activate, timeoutMs });
    if (daemon) return undefined;
    return options.activate
      ? "no kwalletd is running or can be started on the session bus"
      : "kwalletd is not running on the session bus";
  } catch (err) {
    return `the session bus did not answer: ${(err as Error).message}`;
  } finally {
    bus.close();
  }
}

/** Opens the kwallet keyring. Nothing is sent until the first operation. */
export function openKwalletKeyring(options: KwalletOptions = {}): KwalletKeyring {
  const folder = options.folder ?? DEFAULT_KWALLET_FOLDER;
  checkName("folder", folder);
  return new Kwallet(folder, options);
}

interface Session {
  bus: KwalletBus;
  daemon: KwalletDaemon;
}

class Kwallet implements KwalletKeyring {
  readonly name = "kwallet";
  readonly #folder: string;
  readonly #connect: () => Promise<KwalletBus>;
  readonly #openTimeoutMs: number;
  readonly #callTimeoutMs: number;
  #session: Promise<Session> | undefined;
  #handle: number | undefined;
  #opening: Promise<number> | undefined;

  constructor(folder: string, options: KwalletOptions) {
    this.#folder = folder;
    this.#openTimeoutMs = options.openTimeoutMs ?? 120_000;
    this.#callTimeoutMs = options.callTimeoutMs ?? 10_000;
    const env = options.env ?? {};
    this.#connect = options.connect ??
      (() => connectSessionBus(env, { callTimeoutMs: this.#callTimeoutMs }));
  }

  async get(key: string): Promise<Item | undefined> {
    checkName("key", key);
    const what = `cannot read '${key}' from KWallet`;
    const value = await this.#run(
      what,
      async (h) =>
        bytes(await this.#call(what, "readEntry", "isss", [h, this.#folder, key, KWALLET_APP_ID])),
      (v) => v.length === 0,
    );
    if (value.length === 0) return undefined;
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(value);
    } catch {
      throw new KeyringError(`KWallet item '${key}': item is not UTF-8 text`);
    }
    return { ...decodeItemJson(text, `KWallet item '${key}'`), key };
  }

  async getMetadata(key: string): Promise<ItemMetadata | undefined> {
    // kwalletd keeps no modification time (aws-vault: ErrMetadataNeedsCredentials).
    return await this.has(key) ? {} : undefined;
  }

  has(key: string): Promise<boolean> {
    checkName("key", key);
    const what = `cannot look up '${key}' in KWallet`;
    return this.#run(
      what,
      async (h) =>
        bool(await this.#call(what, "hasEntry", "isss", [h, this.#folder, key, KWALLET_APP_ID])),
      (found) => !found,
    );
  }

  async set(item: Item): Promise<void> {
    checkName("key", item.key);
    const json = new TextEncoder().encode(encodeItemJson(item));
    if (json.length > KWALLET_MAX_ITEM_BYTES) {
      throw new KeyringError(
        `cannot store '${item.key}' in KWallet: the item is ${json.length} bytes, over the limit of ${KWALLET_MAX_ITEM_BYTES}`,
      );
    }
    const what = `cannot store '${item.key}' in KWallet`;
    const rc = await this.#run(
      what,
      async (h) =>
        int(
          await this.#call(what, "writeEntry", "issays", [
            h,
            this.#folder,
            item.key,
            json,
            KWALLET_APP_ID,
          ]),
        ),
      (rc) => rc !== 0,
    );
    if (rc !== 0) throw new KeyringError(`${what}: kwalletd answered ${rc}`);
    await this.#sync(what);
  }

  async remove(key: string): Promise<boolean> {
    if (!await this.has(key)) return false;
    const what = `cannot remove '${key}' from KWallet`;
    const rc = await this.#run(
      what,
      async (h) =>
        int(await this.#call(what, "removeEntry", "isss", [h, this.#folder, key, KWALLET_APP_ID])),
      (rc) => rc === -1,
    );
    if (rc === -3) return false; // removed by someone else since hasEntry
    if (rc !== 0) throw new KeyringError(`${what}: kwalletd answered ${rc}`);
    await this.#sync(what);
    return true;
  }

  keys(): Promise<string[]> {
    const what = "cannot list KWallet entries";
    return this.#run(
      what,
      async (h) =>
        strings(await this.#call(what, "entryList", "iss", [h, this.#folder, KWALLET_APP_ID])),
      (keys) => keys.length === 0,
    );
  }

  checkKey(key: string): void {
    checkName("key", key);
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    this.#handle = undefined;
    (await session?.catch(() => undefined))?.bus.close();
  }

  /**
   * Runs one handle operation. An answer that kwalletd also gives for a handle that is not open
   * (`ambiguous`) is believed only after the probe says the handle is still ours; otherwise the
   * wallet was closed or our session dropped (idle timeout, the user, a kwalletd restart) and it
   * is opened again, once.
   */
  async #run<T>(
    what: string,
    op: (handle: number) => Promise<T>,
    ambiguous: (r: T) => boolean,
  ): Promise<T> {
    let handle = await this.#openHandle(what);
    let result = await op(handle);
    if (!ambiguous(result) || await this.#handleIsOurs(what, handle)) return result;
    if (this.#handle === handle) this.#handle = undefined;
    handle = await this.#openHandle(what);
    result = await op(handle);
    if (ambiguous(result) && !await this.#handleIsOurs(what, handle)) {
      throw new KeyringError(`${what}: the wallet '${KWALLET_WALLET}' was closed while in use`);
    }
    return result;
  }

  /** Whether kwalletd still serves this handle to our app id (see the facts above). */
  async #handleIsOurs(what: string, handle: number): Promise<boolean> {
    const rc = int(
      await this.#call(what, "removeEntry", "isss", [handle, PROBE_FOLDER, "", KWALLET_APP_ID]),
    );
    return rc !== -1;
  }

  /** The wallet handle, opening the wallet once for concurrent callers. */
  #openHandle(what: string): Promise<number> {
    if (this.#handle !== undefined) return Promise.resolve(this.#handle);
    this.#opening ??= this.#openWallet(what).then((h) => {
      this.#handle = h;
      return h;
    }).finally(() => this.#opening = undefined);
    return this.#opening;
  }

  async #openWallet(what: string): Promise<number> {
    const handle = int(
      await this.#call(
        what,
        "open",
        "sxs",
        [KWALLET_WALLET, 0n, KWALLET_APP_ID],
        this.#openTimeoutMs,
      ),
    );
    if (handle >= 0) return handle;
    const enabled = await this.#call(what, "isEnabled", "", []).then(bool, () => true);
    throw new KeyringError(
      enabled
        ? `${what}: access to the wallet '${KWALLET_WALLET}' was denied (the password dialog was cancelled, or '${KWALLET_APP_ID}' is on the wallet's deny list)`
        : `${what}: the KDE wallet subsystem is disabled (System Settings, KDE Wallet)`,
    );
  }

  /** Asks kwalletd to write the wallet file now, so a stored item survives a kwalletd crash. */
  async #sync(what: string): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) return;
    try {
      await this.#call(what, "sync", "is", [handle, KWALLET_APP_ID]);
    } catch (err) {
      // The write itself succeeded; kwalletd writes it within 5 s anyway.
      if (!(err instanceof KeyringError && err.cause instanceof DbusRemoteError)) throw err;
    }
  }

  async #call(
    what: string,
    member: string,
    signature: string,
    body: DbusValue[],
    timeoutMs = this.#callTimeoutMs,
  ): Promise<DbusValue> {
    const { bus, daemon } = await this.#ready(what);
    try {
      const reply = await bus.call(
        {
          destination: daemon.name,
          path: daemon.path,
          interface: INTERFACE,
          member,
          signature,
          body,
        },
        { timeoutMs },
      );
      return reply.body[0];
    } catch (err) {
      throw failure(what, member, err, timeoutMs);
    }
  }

  /** The bus connection and daemon, (re)connecting when there is none or it ended. */
  async #ready(what: string): Promise<Session> {
    const current = this.#session;
    if (current) {
      const s = await current.catch(() => undefined);
      if (s && !s.bus.closed) return s;
      if (this.#session === current) {
        this.#session = undefined;
        this.#handle = undefined;
      }
    }
    this.#session ??= this.#startSession(what);
    try {
      return await this.#session;
    } catch (err) {
      this.#session = undefined;
      throw err;
    }
  }

  async #startSession(what: string): Promise<Session> {
    let bus: KwalletBus;
    try {
      bus = await this.#connect();
    } catch (err) {
      throw failure(what, "connect", err, this.#callTimeoutMs);
    }
    try {
      const daemon = await findKwalletDaemon(bus, {
        activate: true,
        timeoutMs: this.#callTimeoutMs,
      });
      if (!daemon) {
        throw new KeyringError(
          `${what}: no kwalletd is running or can be started on the session bus`,
        );
      }
      return { bus, daemon };
    } catch (err) {
      bus.close();
      throw failure(what, "NameHasOwner", err, this.#callTimeoutMs);
    }
  }
}

/** One line naming what failed and why, for any failure of a call. */
function failure(what: string, member: string, err: unknown, timeoutMs: number): KeyringError {
  if (err instanceof KeyringError) return err;
  const line = (why: string) => new KeyringError(`${what}: ${why}`, { cause: err });
  if (err instanceof DbusTimeoutError) {
    return line(
      member === "open"
        ? `kwalletd did not open the wallet '${KWALLET_WALLET}' within ${
          seconds(timeoutMs)
        } (is a password dialog waiting?)`
        : `kwalletd did not answer ${member} within ${seconds(timeoutMs)}`,
    );
  }
  if (err instanceof DbusRemoteError) {
    switch (err.errorName) {
      case DbusErrorNames.SERVICE_UNKNOWN:
      case DbusErrorNames.NAME_HAS_NO_OWNER:
        return line("kwalletd is not running on the session bus");
      case DbusErrorNames.NO_REPLY:
        return line(`kwalletd ended before answering ${member}`);
      case DbusErrorNames.UNKNOWN_METHOD:
      case DbusErrorNames.UNKNOWN_OBJECT:
        return line(`the service on the bus does not speak org.kde.KWallet (${err.errorName})`);
    }
    return line(`kwalletd answered ${member} with ${err.errorName}`);
  }
  if (err instanceof DbusConnectError) return line(err.message);
  if (err instanceof DbusDisconnectedError) {
    return line(`the session bus connection ended (${err.message})`);
  }
  if (err instanceof DbusError) return line(err.message);
  return line(err instanceof Error ? err.message : String(err));
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Names D-Bus strings cannot carry (NUL, lone surrogates) or that kwallet cannot tell apart. */
function checkName(what: "key" | "folder", name: string): void {
  if (name === "") throw new KeyringError(`an empty ${what} cannot be used in KWallet`);
  if (name.includes("\0")) {
    throw new KeyringError(`${what} ${JSON.stringify(name)} has a NUL character`);
  }
  if (!name.isWellFormed()) {
    throw new KeyringError(`${what} ${JSON.stringify(name)} is not valid Unicode`);
  }
  if (new TextEncoder().encode(name).length > KWALLET_MAX_NAME_BYTES) {
    throw new KeyringError(
      `a ${what} longer than ${KWALLET_MAX_NAME_BYTES} bytes cannot be used in KWallet`,
    );
  }
}

function unexpected(kind: string): KeyringError {
  return new KeyringError(`kwalletd sent an unexpected reply (expected ${kind})`);
}

function int(v: DbusValue): number {
  if (typeof v !== "number") throw unexpected("an int32");
  return v;
}

function bool(v: DbusValue): boolean {
  if (typeof v !== "boolean") throw unexpected("a boolean");
  return v;
}

function bytes(v: DbusValue): Uint8Array {
  if (!(v instanceof Uint8Array)) throw unexpected("a byte array");
  return v;
}

function strings(v: DbusValue): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
    throw unexpected("a string array");
  }
  return v as string[];
}
