/**
 * The `secret-service` backend (gnome-keyring, KeePassXC...) through `secret-tool` and `busctl`.
 * Items are stored as aws-vault stores them: in collection `awsvault` (`--secret-service-
 * collection`), label = key, attribute `profile` = key, secret = Item JSON.
 *
 * secret-tool moves secrets (on stdin when storing, on its stdout when reading); busctl does the
 * rest (list a collection's items, search within one collection, delete, create the collection),
 * which secret-tool cannot do. secret-tool's search spans all collections and names items only by
 * their last path segment, so a read matches that segment and the label against the item busctl
 * found in our collection.
 */
import type { Item, ItemMetadata, Keyring } from "./keyring.ts";
import { KeyringError } from "./keyring.ts";
import { decodeItemJson, encodeItemJson } from "./item_json.ts";
import { lookPath } from "../lib/process/path_lookup.ts";
import { runTool, runToolOk, stdoutText, toolFailure, type ToolResult } from "./exec_util.ts";

const BUS_NAME = "org.freedesktop.secrets";
const SERVICE_PATH = "/org/freedesktop/secrets";
const NO_OBJECT = /Object does not exist|No such object|UnknownObject/;

/**
 * secret-tool (libsecret 0.20) silently truncates a secret read from stdin to 8192 bytes, so
 * larger Item JSON is refused rather than stored corrupt.
 */
export const SECRET_TOOL_MAX_BYTES = 8191;

/** Options for the Secret Service keyring. */
export interface SecretServiceOptions {
  /** Collection name; default `awsvault`. */
  collection?: string;
  /** Environment for the tools (DBUS_SESSION_BUS_ADDRESS above all). */
  env?: Record<string, string>;
  /** How long to wait for the user to answer the "new keyring password" prompt. */
  promptTimeoutMs?: number;
}

/** The object path of a collection: bytes outside [A-Za-z0-9] become `_xx` (lower-case hex). */
export function collectionPath(name: string): string {
  let escaped = "";
  for (const b of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(b);
    escaped += /[A-Za-z0-9]/.test(c) ? c : `_${b.toString(16).padStart(2, "0")}`;
  }
  return `${SERVICE_PATH}/collection/${escaped}`;
}

/** Why the Secret Service cannot be used here, or undefined when it answers. */
export async function secretServiceUnavailable(
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  if (!env.DBUS_SESSION_BUS_ADDRESS) {
    return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)";
  }
  // Found on PATH without spawning them: this check runs before every command.
  for (const tool of ["secret-tool", "busctl"]) {
    if (!await lookPath(tool, env.PATH ?? Deno.env.get("PATH"))) {
      return `'${tool}' is not installed`;
    }
  }
  const r = await busctl(
    ["get-property", BUS_NAME, SERVICE_PATH, "org.freedesktop.Secret.Service", "Collections"],
    busEnv(env),
  );
  if (r.code !== 0) return `no Secret Service is running on the session bus (${r.stderr.trim()})`;
  return undefined;
}

/** Opens the Secret Service keyring. Nothing runs until the first operation. */
export function openSecretServiceKeyring(options: SecretServiceOptions = {}): Keyring {
  return new SecretServiceKeyring(options);
}

class SecretServiceKeyring implements Keyring {
  readonly name = "secret-service";
  readonly #collection: string;
  readonly #path: string;
  readonly #env: Record<string, string>;
  readonly #promptTimeoutMs: number;
  #creating: Promise<void> | undefined;

  constructor(options: SecretServiceOptions) {
    this.#collection = options.collection ?? "awsvault";
    this.#path = collectionPath(this.#collection);
    this.#env = options.env ?? {};
    this.#promptTimeoutMs = options.promptTimeoutMs ?? 120_000;
  }

  async get(key: string): Promise<Item | undefined> {
    const path = await this.#find(key);
    if (path === undefined) return undefined;
    const result = await runToolOk(
      "secret-tool",
      ["search", "--all", "--unlock", "--", "profile", key],
      `cannot read '${key}' from the Secret Service`,
      { env: this.#env },
    );
    const secret = pickSecret(stdoutText(result), path.slice(path.lastIndexOf("/")), key);
    if (secret === undefined) {
      throw new KeyringError(
        `cannot read '${key}' from the Secret Service: the collection '${this.#collection}' is locked or the item vanished`,
      );
    }
    const item = decodeItemJson(secret, `Secret Service item '${key}'`);
    return { ...item, key };
  }

  /**
   * One SearchItems call (keys() reads every item's label). aws-vault gives an item its key as
   * both label and `profile` attribute, so the attribute answers for the label.
   */
  async has(key: string): Promise<boolean> {
    try {
      checkKey(key);
    } catch {
      return false; // such a key cannot be stored, so keys() never lists it
    }
    return await this.#find(key) !== undefined;
  }

  async getMetadata(key: string): Promise<ItemMetadata | undefined> {
    const path = await this.#find(key);
    if (path === undefined) return undefined;
    const r = await busctl([
      "get-property",
      BUS_NAME,
      path,
      "org.freedesktop.Secret.Item",
      "Modified",
    ], this.#env);
    const seconds = r.code === 0 ? Number(JSON.parse(stdoutText(r)).data) : NaN;
    return Number.isFinite(seconds) ? { modificationTime: new Date(seconds * 1000) } : {};
  }

  async set(item: Item): Promise<void> {
    checkKey(item.key);
    const json = new TextEncoder().encode(encodeItemJson(item));
    if (json.length > SECRET_TOOL_MAX_BYTES) {
      throw new KeyringError(
        `cannot store '${item.key}': the item is ${json.length} bytes and secret-tool stores at most ${SECRET_TOOL_MAX_BYTES}`,
      );
    }
    await this.#ensureCollection();
    await runToolOk(
      "secret-tool",
      ["store", `--label=${item.key}`, `--collection=${this.#path}`, "--", "profile", item.key],
      `cannot store '${item.key}' in the Secret Service`,
      { stdin: json, env: this.#env },
    );
  }

  async remove(key: string): Promise<boolean> {
    const path = await this.#find(key);
    if (path === undefined) return false;
    const r = await busctl(
      ["call", BUS_NAME, path, "org.freedesktop.Secret.Item", "Delete"],
      this.#env,
    );
    if (r.code === 0) return true;
    if (NO_OBJECT.test(r.stderr)) return false;
    throw toolFailure("busctl", `cannot remove '${key}' from the Secret Service`, r);
  }

  async keys(): Promise<string[]> {
    const items = await this.#items();
    const labels = await Promise.all(items.map(async (path) => {
      const r = await busctl([
        "get-property",
        BUS_NAME,
        path,
        "org.freedesktop.Secret.Item",
        "Label",
      ], this.#env);
      return r.code === 0 ? String(JSON.parse(stdoutText(r)).data) : undefined;
    }));
    return labels.filter((l): l is string => l !== undefined);
  }

  /** Item paths of the collection; [] when the collection does not exist. */
  async #items(): Promise<string[]> {
    const r = await busctl([
      "get-property",
      BUS_NAME,
      this.#path,
      "org.freedesktop.Secret.Collection",
      "Items",
    ], this.#env);
    if (r.code !== 0) {
      if (NO_OBJECT.test(r.stderr)) return [];
      throw this.#failure("cannot list the Secret Service collection", r);
    }
    return JSON.parse(stdoutText(r)).data as string[];
  }

  /** The path of the item for this key in our collection. */
  async #find(key: string): Promise<string | undefined> {
    checkKey(key);
    const r = await busctl(
      [
        "call",
        BUS_NAME,
        this.#path,
        "org.freedesktop.Secret.Collection",
        "SearchItems",
        "a{ss}",
        "1",
        "profile",
        key,
      ],
      this.#env,
    );
    if (r.code !== 0) {
      if (NO_OBJECT.test(r.stderr)) return undefined;
      throw this.#failure(`cannot look up '${key}' in the Secret Service`, r);
    }
    const paths = (JSON.parse(stdoutText(r)).data as string[][])[0];
    return paths[0];
  }

  #ensureCollection(): Promise<void> {
    this.#creating ??= this.#createCollection().finally(() => this.#creating = undefined);
    return this.#creating;
  }

  /** Reads our collection's label: exit 0 when the collection exists. */
  #probeCollection(): Promise<ToolResult> {
    return busctl(
      ["get-property", BUS_NAME, this.#path, "org.freedesktop.Secret.Collection", "Label"],
      this.#env,
    );
  }

  async #createCollection(): Promise<void> {
    const probe = await this.#probeCollection();
    if (probe.code === 0) return;
    if (!NO_OBJECT.test(probe.stderr)) {
      throw this.#failure("cannot open the Secret Service collection", probe);
    }
    const made = await busctl(
      [
        "call",
        BUS_NAME,
        SERVICE_PATH,
        "org.freedesktop.Secret.Service",
        "CreateCollection",
        "a{sv}s",
        "1",
        "org.freedesktop.Secret.Collection.Label",
        "s",
        this.#collection,
        "",
      ],
      this.#env,
    );
    if (made.code !== 0) {
      throw this.#failure(`cannot create Secret Service collection '${this.#collection}'`, made);
    }
    const [, prompt] = JSON.parse(stdoutText(made)).data as string[];
    if (prompt !== "/") {
      // The daemon asks the user for the new keyring's password; wait for the collection.
      await busctl(
        ["call", BUS_NAME, prompt, "org.freedesktop.Secret.Prompt", "Prompt", "s", ""],
        this.#env,
      );
      const deadline = Date.now() + this.#promptTimeoutMs;
      while (Date.now() < deadline) {
        if ((await this.#probeCollection()).code === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new KeyringError(
        `Secret Service collection '${this.#collection}' was not created (the password prompt was dismissed or no prompter is available)`,
      );
    }
  }

  #failure(what: string, r: ToolResult): KeyringError {
    if (
      /ServiceUnknown|not provided by any .service|Failed to connect|No such file or directory/
        .test(r.stderr)
    ) {
      return new KeyringError(`${what}: no Secret Service is running on the session bus`);
    }
    return toolFailure("busctl", what, r);
  }
}

/** Runs busctl on the user's session bus with JSON output. */
function busctl(args: string[], env: Record<string, string>): Promise<ToolResult> {
  // `--`: a key may start with `-` (a profile named so), and must not be read as an option.
  return runTool("busctl", ["--user", "--json=short", "--", ...args], { env });
}

function busEnv(env: Record<string, string | undefined>): Record<string, string> {
  return env.DBUS_SESSION_BUS_ADDRESS
    ? { DBUS_SESSION_BUS_ADDRESS: env.DBUS_SESSION_BUS_ADDRESS }
    : {};
}

/**
 * The secret of the block in `secret-tool search --all` output whose header is `[<tail>]` and
 * whose label is the key.
 */
export function pickSecret(output: string, tail: string, key: string): string | undefined {
  for (const block of output.split(/^(?=\[)/m)) {
    const lines = block.split("\n");
    if (lines[0] !== `[${tail}]`) continue;
    const field = (name: string) =>
      lines.find((l) => l.startsWith(`${name} = `))?.slice(name.length + 3);
    if (field("label") === key) return field("secret");
  }
  return undefined;
}

function checkKey(key: string): void {
  if (key === "") throw new KeyringError("an empty key cannot be stored in the Secret Service");
  if (/[\n\0]/.test(key)) {
    throw new KeyringError(`key ${JSON.stringify(key)} has a line break or NUL`);
  }
}
