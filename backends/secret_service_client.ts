/**
 * The freedesktop Secret Service API (org.freedesktop.Secret.*, spec 0.2) over our D-Bus
 * connection: a transfer session, collections (find, create), unlocking, items (search, list,
 * read, create, delete) and the Prompt objects the daemon answers some calls with. Knows nothing
 * of aws-vault's items; backends/secret_service.ts does.
 */
import {
  type CallOptions,
  type DbusConnection,
  DbusError,
  DbusRemoteError,
  type DbusValue,
  type Variant,
} from "./dbus/connection.ts";
import { getProperty } from "./dbus/properties.ts";
import {
  type DH_AES,
  openSecretSession,
  type PLAIN,
  type SecretSession,
} from "./secret_service_session.ts";
import { after } from "../lib/timer.ts";

/** The Secret Service's well-known bus name. */
export const SECRETS_BUS_NAME = "org.freedesktop.secrets";
/** The service object. */
export const SERVICE_PATH = "/org/freedesktop/secrets";

const SERVICE = "org.freedesktop.Secret.Service";
const COLLECTION = "org.freedesktop.Secret.Collection";
const ITEM = "org.freedesktop.Secret.Item";
const PROMPT = "org.freedesktop.Secret.Prompt";

/** What the methods we call answer (spec 0.2); any other answer is refused, not guessed at. */
const REPLY_SIGNATURES: Record<string, string> = {
  OpenSession: "vo",
  ReadAlias: "o",
  CreateCollection: "oo",
  Unlock: "aoo",
  SearchItems: "ao",
  GetSecret: "(oayays)",
  CreateItem: "oo",
  Delete: "o",
};

/** Error names of the Secret Service API. */
export const SecretErrorNames = {
  IS_LOCKED: "org.freedesktop.Secret.Error.IsLocked",
  NO_SUCH_OBJECT: "org.freedesktop.Secret.Error.NoSuchObject",
  NO_SESSION: "org.freedesktop.Secret.Error.NoSession",
} as const;

/** A prompt the user dismissed, or did not answer in time. */
export class SecretPromptError extends DbusError {
  /** True when dismissed; false when it timed out. */
  readonly dismissed: boolean;
  constructor(message: string, dismissed: boolean) {
    super(message);
    this.name = "SecretPromptError";
    this.dismissed = dismissed;
  }
}

/** Options of the client. */
export interface SecretServiceClientOptions {
  /** How long to wait for the user to answer a prompt (unlock, new keyring password). */
  promptTimeoutMs: number;
  /** Deadline of each ordinary call; default the connection's. */
  callTimeoutMs?: number;
  /** Transfer algorithm; default the encrypted one when the daemon has it. */
  algorithm?: typeof PLAIN | typeof DH_AES;
}

/** True for the errors that mean "that object is not there (any more)". */
export function isNoSuchObject(err: unknown): boolean {
  if (!(err instanceof DbusRemoteError)) return false;
  return err.errorName === SecretErrorNames.NO_SUCH_OBJECT ||
    err.errorName === "org.freedesktop.DBus.Error.UnknownObject" ||
    // GDBus (gnome-keyring) answers a call on a path it does not export with UnknownMethod.
    (err.errorName === "org.freedesktop.DBus.Error.UnknownMethod" &&
      /No such (interface|object)|Object does not exist/i.test(err.message));
}

/** One client of the Secret Service on one connection. */
export class SecretServiceClient {
  readonly #bus: DbusConnection;
  readonly #options: SecretServiceClientOptions;
  #session: Promise<SecretSession> | undefined;

  constructor(bus: DbusConnection, options: SecretServiceClientOptions) {
    this.#bus = bus;
    this.#options = options;
  }

  /** The transfer session, opened once per connection. */
  session(): Promise<SecretSession> {
    this.#session ??= openSecretSession(
      (member, signature, body) => this.#call(SERVICE_PATH, SERVICE, member, signature, body),
      {
        algorithm: this.#options.algorithm,
      },
    ).catch((err) => {
      this.#session = undefined;
      throw err;
    });
    return this.#session;
  }

  async #call(
    path: string,
    iface: string,
    member: string,
    signature = "",
    body: DbusValue[] = [],
    options: CallOptions = {},
  ): Promise<DbusValue[]> {
    const reply = await this.#bus.call({
      destination: SECRETS_BUS_NAME,
      path,
      interface: iface,
      member,
      signature,
      body,
    }, { timeoutMs: this.#options.callTimeoutMs, ...options });
    const expected = REPLY_SIGNATURES[member];
    if (expected !== undefined && reply.signature !== expected) {
      throw new DbusError(
        `the Secret Service answered ${member} with '${reply.signature}', not '${expected}'`,
      );
    }
    return reply.body;
  }

  #property(path: string, iface: string, name: string): Promise<DbusValue> {
    return getProperty(this.#bus, { destination: SECRETS_BUS_NAME, path }, iface, name, {
      timeoutMs: this.#options.callTimeoutMs,
    });
  }

  /** Paths of all collections. */
  async collections(): Promise<string[]> {
    return asPaths(await this.#property(SERVICE_PATH, SERVICE, "Collections"));
  }

  /** The collection an alias (`default`, `login`) names, or undefined. */
  async readAlias(name: string): Promise<string | undefined> {
    const [path] = await this.#call(SERVICE_PATH, SERVICE, "ReadAlias", "s", [name]);
    return path === "/" ? undefined : String(path);
  }

  /** A collection's or item's label. */
  async label(path: string, kind: "collection" | "item"): Promise<string> {
    return String(await this.#property(path, kind === "item" ? ITEM : COLLECTION, "Label"));
  }

  /** Whether a collection or item is locked. */
  async locked(path: string, kind: "collection" | "item"): Promise<boolean> {
    return (await this.#property(path, kind === "item" ? ITEM : COLLECTION, "Locked")) === true;
  }

  /** An item's modification time (seconds since the epoch). */
  async modified(item: string): Promise<number> {
    return Number(await this.#property(item, ITEM, "Modified"));
  }

  /** Creates a collection with this label (the user may be asked for its password). */
  async createCollection(label: string): Promise<string> {
    const props = new Map<DbusValue, DbusValue>([
      [`${COLLECTION}.Label`, { signature: "s", value: label }],
    ]);
    const [path, prompt] = await this.#call(SERVICE_PATH, SERVICE, "CreateCollection", "a{sv}s", [
      props,
      "",
    ]);
    if (path !== "/") return String(path);
    const result = await this.prompt(String(prompt), `creating the keyring '${label}'`);
    const created = String(result.value);
    if (result.signature !== "o" || created === "/") {
      throw new DbusError(`the Secret Service created no keyring '${label}'`);
    }
    return created;
  }

  /** Unlocks objects, through the daemon's prompt when it needs the user. */
  async unlock(paths: string[], what: string): Promise<void> {
    const [, prompt] = await this.#call(SERVICE_PATH, SERVICE, "Unlock", "ao", [paths]);
    if (prompt !== "/") await this.prompt(String(prompt), what);
  }

  /** Items of a collection whose attributes include all of `attributes`. */
  async searchItems(collection: string, attributes: Record<string, string>): Promise<string[]> {
    const [paths] = await this.#call(collection, COLLECTION, "SearchItems", "a{ss}", [
      new Map(Object.entries(attributes)),
    ]);
    return asPaths(paths);
  }

  /** All items of a collection. */
  async items(collection: string): Promise<string[]> {
    return asPaths(await this.#property(collection, COLLECTION, "Items"));
  }

  /** An item's secret value. Throws DbusRemoteError IsLocked when it is locked. */
  async getSecret(item: string): Promise<Uint8Array> {
    const session = await this.session();
    const [secret] = await this.#call(item, ITEM, "GetSecret", "o", [session.path]);
    const [, parameters, value] = secret as [string, Uint8Array, Uint8Array, string];
    return await session.decrypt(parameters, value);
  }

  /** Creates (or, with the same attributes, replaces) an item; answers its path. */
  async createItem(collection: string, item: {
    label: string;
    attributes: Record<string, string>;
    secret: Uint8Array;
    contentType: string;
  }): Promise<string> {
    const session = await this.session();
    const { parameters, value } = await session.encrypt(item.secret);
    const props = new Map<DbusValue, DbusValue>([
      [`${ITEM}.Label`, { signature: "s", value: item.label }],
      [`${ITEM}.Attributes`, {
        signature: "a{ss}",
        value: new Map(Object.entries(item.attributes)),
      }],
    ]);
    const [path, prompt] = await this.#call(
      collection,
      COLLECTION,
      "CreateItem",
      "a{sv}(oayays)b",
      [props, [session.path, parameters, value, item.contentType], true],
    );
    if (path !== "/") return String(path);
    const result = await this.prompt(String(prompt), `storing '${item.label}'`);
    return String(result.value);
  }

  /** Deletes an item (through a prompt when the daemon asks for one). */
  async deleteItem(item: string, what: string): Promise<void> {
    const [prompt] = await this.#call(item, ITEM, "Delete");
    if (prompt !== "/") await this.prompt(String(prompt), what);
  }

  /**
   * Shows a prompt and waits for its Completed signal, at most promptTimeoutMs; a prompt not
   * answered in time is dismissed. Throws SecretPromptError when dismissed or timed out.
   */
  async prompt(path: string, what: string): Promise<Variant> {
    let done!: (v: { dismissed: boolean; result: Variant }) => void;
    const completed = new Promise<{ dismissed: boolean; result: Variant }>((r) => done = r);
    const sub = await this.#bus.subscribe(
      { sender: SECRETS_BUS_NAME, path, interface: PROMPT, member: "Completed" },
      (signal) => {
        if (signal.signature !== "bv") return;
        done({ dismissed: signal.body[0] === true, result: signal.body[1] as Variant });
      },
      { timeoutMs: this.#options.callTimeoutMs },
    );
    let cancelTimer: (() => void) | undefined;
    try {
      await this.#call(path, PROMPT, "Prompt", "s", [""]);
      const timeoutMs = this.#options.promptTimeoutMs;
      const outcome = await Promise.race([
        completed,
        new Promise<undefined>((r) => cancelTimer = after(timeoutMs, () => r(undefined))),
      ]);
      if (outcome === undefined) {
        await this.#call(path, PROMPT, "Dismiss", "", [], { timeoutMs: 2_000 }).catch(() => {});
        throw new SecretPromptError(
          `the Secret Service prompt for ${what} was not answered within ${duration(timeoutMs)}`,
          false,
        );
      }
      if (outcome.dismissed) {
        throw new SecretPromptError(
          `the Secret Service prompt for ${what} was dismissed (or no prompter could be shown)`,
          true,
        );
      }
      return outcome.result;
    } finally {
      cancelTimer?.();
      await sub.close();
    }
  }
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

function asPaths(v: DbusValue): string[] {
  if (!Array.isArray(v)) throw new DbusError("the Secret Service answered a non-list of paths");
  return v.map(String);
}
