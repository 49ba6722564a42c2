/**
 * The `secret-service` backend (gnome-keyring, KeePassXC...), speaking the Secret Service D-Bus
 * API itself (backends/dbus, backends/secret_service_client.ts): no secret-tool, no busctl.
 * Items are stored as aws-vault stores them: in collection `awsvault` (`--secret-service-
 * collection`), label = key, attribute `profile` = key, content type `application/json`, secret
 * = Item JSON, CreateItem with replace. Only our collection is searched: an item with the same
 * attribute in another collection is never read.
 */
import type { Item, ItemMetadata, Keyring } from "./keyring.ts";
import { KeyringError } from "./keyring.ts";
import { decodeItemJson, encodeItemJson } from "./item_json.ts";
import {
  connectSessionBus,
  DbusConnectError,
  type DbusConnection,
  DbusDisconnectedError,
  DbusError,
  DbusErrorNames,
  DbusRemoteError,
  DbusTimeoutError,
} from "./dbus/connection.ts";
import {
  isNoSuchObject,
  SecretErrorNames,
  SecretPromptError,
  SECRETS_BUS_NAME,
  SecretServiceClient,
  SERVICE_PATH,
} from "./secret_service_client.ts";
import type { DH_AES, PLAIN } from "./secret_service_session.ts";

/**
 * Largest Item JSON stored (bytes). Bounded by the connection's message limit
 * (DEFAULT_MAX_MESSAGE_BYTES, 4 MiB), with room for the key twice and the framing.
 */
export const MAX_SECRET_BYTES = 2 * 1024 * 1024;

/** Longest key (UTF-8 bytes): it travels three times in a CreateItem (label, attribute, JSON). */
export const MAX_KEY_BYTES = 64 * 1024;

const CONTENT_TYPE = "application/json";

/** Options for the Secret Service keyring. */
export interface SecretServiceOptions {
  /** Collection name; default `awsvault`. */
  collection?: string;
  /** Where DBUS_SESSION_BUS_ADDRESS comes from; default Deno.env. */
  env?: Record<string, string | undefined>;
  /** How long to wait for the user to answer a prompt (unlock, new keyring password). */
  promptTimeoutMs?: number;
  /** Deadline of each D-Bus call; default 25 s. */
  callTimeoutMs?: number;
  /** Deadline for reaching the bus; default 5 s. */
  connectTimeoutMs?: number;
  /** Transfer algorithm; default the encrypted one when the daemon has it, else plain. */
  algorithm?: typeof PLAIN | typeof DH_AES;
}

/** The object path aws-vault expects for a collection: bytes outside [A-Za-z0-9] as `_xx`. */
export function collectionPath(name: string): string {
  let escaped = "";
  for (const b of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(b);
    escaped += /[A-Za-z0-9]/.test(c) ? c : `_${b.toString(16).padStart(2, "0")}`;
  }
  return `${SERVICE_PATH}/collection/${escaped}`;
}

/**
 * Why the Secret Service cannot be used here, or undefined when it answers: a reachable session
 * bus on which org.freedesktop.secrets has an owner or can be activated. One connection, one or
 * two calls, short deadlines (this runs before commands that use the default backend).
 */
export async function secretServiceUnavailable(
  env: Record<string, string | undefined>,
  options: { timeoutMs?: number } = {},
): Promise<string | undefined> {
  const timeoutMs = options.timeoutMs ?? 3_000;
  let bus: DbusConnection;
  try {
    bus = await connectSessionBus(env, { connectTimeoutMs: timeoutMs, callTimeoutMs: timeoutMs });
  } catch (err) {
    return err instanceof DbusError ? err.message : String(err);
  }
  try {
    const DBUS = {
      destination: "org.freedesktop.DBus",
      path: "/org/freedesktop/DBus",
      interface: "org.freedesktop.DBus",
    };
    const [owned] = (await bus.call({
      ...DBUS,
      member: "NameHasOwner",
      signature: "s",
      body: [SECRETS_BUS_NAME],
    })).body;
    if (owned === true) return undefined;
    const [names] = (await bus.call({ ...DBUS, member: "ListActivatableNames" })).body;
    if (Array.isArray(names) && names.includes(SECRETS_BUS_NAME)) return undefined;
    return "no Secret Service is running on the session bus (nothing owns org.freedesktop.secrets)";
  } catch (err) {
    return `the session bus did not answer: ${(err as Error).message}`;
  } finally {
    bus.close();
  }
}

/** Opens the Secret Service keyring. Nothing connects until the first operation. */
export function openSecretServiceKeyring(options: SecretServiceOptions = {}): SecretServiceKeyring {
  return new SecretServiceKeyring(options);
}

/** The keyring; `close()` ends its bus connection (the next operation opens a new one). */
export class SecretServiceKeyring implements Keyring {
  readonly name = "secret-service";
  readonly #collection: string;
  readonly #options: SecretServiceOptions;
  #client: Promise<{ bus: DbusConnection; client: SecretServiceClient }> | undefined;
  #creating: Promise<string> | undefined;

  constructor(options: SecretServiceOptions) {
    this.#collection = options.collection ?? "awsvault";
    this.#options = options;
  }

  checkKey(key: string): void {
    if (key === "") throw new KeyringError("an empty key cannot be stored in the Secret Service");
    if (key.includes("\0")) throw new KeyringError(`key ${JSON.stringify(key)} has a NUL`);
    if (!key.isWellFormed()) {
      throw new KeyringError(`key ${JSON.stringify(key)} is not valid Unicode`);
    }
    if (new TextEncoder().encode(key).length > MAX_KEY_BYTES) {
      throw new KeyringError(`a key longer than ${MAX_KEY_BYTES} bytes cannot be stored`);
    }
  }

  get(key: string): Promise<Item | undefined> {
    return this.#run(`cannot read '${short(key)}' from the Secret Service`, async (client) => {
      this.checkKey(key);
      const collection = await this.#findCollection(client);
      if (collection === undefined) return undefined;
      await this.#unlockIfLocked(client, collection);
      for (let attempt = 0;; attempt++) {
        const path = await this.#findItem(client, collection, key);
        if (path === undefined) return undefined;
        let secret: Uint8Array;
        try {
          secret = await client.getSecret(path);
        } catch (err) {
          if (isNoSuchObject(err) && attempt < 2) continue; // removed under us: look again
          if (isLocked(err) && attempt === 0) {
            await client.unlock([path], `unlocking '${short(key)}'`);
            continue;
          }
          throw err;
        }
        const text = new TextDecoder().decode(secret);
        const item = decodeItemJson(text, `Secret Service item '${short(key)}'`);
        return { ...item, key };
      }
    });
  }

  getMetadata(key: string): Promise<ItemMetadata | undefined> {
    return this.#run(`cannot read '${short(key)}' from the Secret Service`, async (client) => {
      this.checkKey(key);
      const collection = await this.#findCollection(client);
      if (collection === undefined) return undefined;
      const path = await this.#findItem(client, collection, key);
      if (path === undefined) return undefined;
      const seconds = await client.modified(path).catch((err) => {
        if (isNoSuchObject(err)) return undefined;
        throw err;
      });
      if (seconds === undefined) return undefined;
      return Number.isFinite(seconds) && seconds > 0
        ? { modificationTime: new Date(seconds * 1000) }
        : {};
    });
  }

  async set(item: Item): Promise<void> {
    this.checkKey(item.key);
    const json = new TextEncoder().encode(encodeItemJson(item));
    if (json.length > MAX_SECRET_BYTES) {
      throw new KeyringError(
        `cannot store '${short(item.key)}': the item is ${json.length} bytes, over the ` +
          `Secret Service backend's limit of ${MAX_SECRET_BYTES}`,
      );
    }
    return await this.#run(
      `cannot store '${short(item.key)}' in the Secret Service`,
      async (client) => {
        const collection = await this.#ensureCollection(client);
        await this.#unlockIfLocked(client, collection);
        await client.createItem(collection, {
          label: item.key,
          attributes: { profile: item.key },
          secret: json,
          contentType: CONTENT_TYPE,
        });
      },
    );
  }

  remove(key: string): Promise<boolean> {
    return this.#run(`cannot remove '${short(key)}' from the Secret Service`, async (client) => {
      this.checkKey(key);
      const collection = await this.#findCollection(client);
      if (collection === undefined) return false;
      await this.#unlockIfLocked(client, collection);
      let removed = false;
      // Every match: a duplicate (made by another program) must not reappear after a remove.
      for (const path of await client.searchItems(collection, { profile: key })) {
        try {
          await client.deleteItem(path, `removing '${short(key)}'`);
          removed = true;
        } catch (err) {
          if (!isNoSuchObject(err)) throw err;
        }
      }
      return removed;
    });
  }

  /** Whether keys() lists this key: one search instead of reading every label. */
  has(key: string): Promise<boolean> {
    return this.#run(`cannot look up '${short(key)}' in the Secret Service`, async (client) => {
      this.checkKey(key);
      const collection = await this.#findCollection(client);
      if (collection === undefined) return false;
      for (const path of await client.searchItems(collection, { profile: key })) {
        if (await client.label(path, "item").catch(() => undefined) === key) return true;
      }
      return false;
    });
  }

  keys(): Promise<string[]> {
    return this.#run("cannot list the Secret Service collection", async (client) => {
      const collection = await this.#findCollection(client);
      if (collection === undefined) return [];
      const labels = await Promise.all(
        (await client.items(collection)).map((path) =>
          client.label(path, "item").catch((err) => {
            if (isNoSuchObject(err)) return undefined; // removed while we listed
            throw err;
          })
        ),
      );
      return labels.filter((l): l is string => l !== undefined);
    });
  }

  /** Ends the bus connection. */
  async close(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    if (c) (await c.catch(() => undefined))?.bus.close();
  }

  /** Runs an operation on the (re)opened connection; every failure becomes a KeyringError. */
  async #run<T>(what: string, op: (client: SecretServiceClient) => Promise<T>): Promise<T> {
    try {
      const { client } = await this.#connection();
      return await op(client);
    } catch (err) {
      if (err instanceof KeyringError) throw err;
      throw new KeyringError(`${what}: ${describe(err, this.#collection)}`, { cause: err });
    }
  }

  #connection(): Promise<{ bus: DbusConnection; client: SecretServiceClient }> {
    const current = this.#client;
    if (current) {
      return current.then((c) => {
        if (!c.bus.closed) return c;
        if (this.#client === current) this.#client = undefined; // the daemon went away: reconnect
        return this.#connection();
      });
    }
    const opening = (async () => {
      const bus = await connectSessionBus(this.#options.env ?? Deno.env.toObject(), {
        connectTimeoutMs: this.#options.connectTimeoutMs,
        callTimeoutMs: this.#options.callTimeoutMs,
      });
      const client = new SecretServiceClient(bus, {
        promptTimeoutMs: this.#options.promptTimeoutMs ?? 120_000,
        callTimeoutMs: this.#options.callTimeoutMs,
        algorithm: this.#options.algorithm,
      });
      return { bus, client };
    })();
    this.#client = opening;
    opening.catch(() => {
      if (this.#client === opening) this.#client = undefined;
    });
    return opening;
  }

  /**
   * Our collection: the one at the path aws-vault derives from the name, else the one an alias
   * of that name points to (`default`, `login`), else one labelled with the name (a daemon may
   * choose another path for a name it escapes differently).
   */
  async #findCollection(client: SecretServiceClient): Promise<string | undefined> {
    const all = await client.collections();
    const wanted = collectionPath(this.#collection);
    if (all.includes(wanted)) return wanted;
    const alias = await client.readAlias(this.#collection).catch(() => undefined);
    if (alias !== undefined && all.includes(alias)) return alias;
    for (const path of all) {
      const label = await client.label(path, "collection").catch(() => undefined);
      if (label === this.#collection) return path;
    }
    return undefined;
  }

  #ensureCollection(client: SecretServiceClient): Promise<string> {
    this.#creating ??= (async () => {
      const found = await this.#findCollection(client);
      if (found !== undefined) return found;
      await client.createCollection(this.#collection);
      // Another writer may have created it at the same moment: use whatever the name finds.
      return await this.#findCollection(client) ??
        Promise.reject(new DbusError(`the keyring '${this.#collection}' vanished after creation`));
    })().finally(() => this.#creating = undefined);
    return this.#creating;
  }

  async #unlockIfLocked(client: SecretServiceClient, collection: string): Promise<void> {
    if (await client.locked(collection, "collection")) {
      await client.unlock([collection], `unlocking the keyring '${this.#collection}'`);
    }
  }

  /** The item for this key: a profile-attribute match, the one labelled with the key first. */
  async #findItem(
    client: SecretServiceClient,
    collection: string,
    key: string,
  ): Promise<string | undefined> {
    const paths = await client.searchItems(collection, { profile: key });
    if (paths.length <= 1) return paths[0];
    for (const path of paths) {
      if (await client.label(path, "item").catch(() => undefined) === key) return path;
    }
    return paths[0];
  }
}

function isLocked(err: unknown): boolean {
  return err instanceof DbusRemoteError && err.errorName === SecretErrorNames.IS_LOCKED;
}

/** A failure as one line for the user (no secrets are in any of these). */
function describe(err: unknown, collection: string): string {
  if (err instanceof SecretPromptError) return err.message;
  if (err instanceof DbusConnectError) return err.message;
  if (err instanceof DbusTimeoutError) return `the Secret Service did not answer (${err.message})`;
  if (err instanceof DbusDisconnectedError) {
    return `the connection to the Secret Service broke (${err.message})`;
  }
  if (err instanceof DbusRemoteError) {
    if (
      err.errorName === DbusErrorNames.SERVICE_UNKNOWN ||
      err.errorName === DbusErrorNames.NAME_HAS_NO_OWNER
    ) {
      return "no Secret Service is running on the session bus";
    }
    if (isLocked(err)) return `the keyring '${collection}' is locked`;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A key as shown in messages: hostile huge keys do not flood the terminal. */
function short(key: string): string {
  // deno-lint-ignore no-control-regex
  const shown = key.replace(/[\x00-\x1f\x7f]/g, "?");
  return shown.length > 120 ? `${shown.slice(0, 120)}...` : shown;
}
