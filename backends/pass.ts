/**
 * The `pass` and `passage` backends: one encrypted entry per item holding aws-vault's Item JSON,
 * written with `<cmd> insert -m -f` (JSON on stdin) and read with `<cmd> show`. passage is pass on
 * age: the same commands, `.age` files and `PASSAGE_DIR`.
 *
 * Where entries live: aws-vault's layout, `<prefix>/<key>` with an empty default prefix (the
 * store root), so aws-vault and this program read each other's entries. A key that would not
 * round-trip as a path (`//`, a leading or trailing `/`, `%25` or `%2F`) is stored with `%` and
 * `/` percent-escaped. Entries under `aws-vault/` (this program's earlier default) are read too.
 *
 * At the store root, `keys()` lists only entries whose names look like aws-vault keys (a session
 * key, an `oidc:` key, or a name the caller says is a config profile) and that decrypt to Item
 * JSON whose Key matches the entry name: the user's other passwords are never decrypted (nor a
 * gpg/pinentry round trip made for each) on every `keys()` call. `get(key)` looks at that one
 * name. Each root entry is decrypted at most once per process.
 */
import { decodeItemJson, encodeItemJson } from "./item_json.ts";
import type { Item, ItemMetadata, Keyring } from "./keyring.ts";
import { KeyringError } from "./keyring.ts";
import { runTool, runToolOk, stdoutText, toolFailure } from "./exec_util.ts";

/** The folder this program used as its default prefix before it took aws-vault's layout. */
export const LEGACY_PASS_PREFIX = "aws-vault";

/** What tells pass and passage apart. */
export interface PassFlavour {
  /** The backend name and default command. */
  name: "pass" | "passage";
  /** The file extension of an entry. */
  extension: ".gpg" | ".age";
  /** The variable that tells the tool where its store is. */
  storeDirVariable: "PASSWORD_STORE_DIR" | "PASSAGE_DIR";
}

/** pass: gpg-encrypted `.gpg` entries under PASSWORD_STORE_DIR. */
export const PASS: PassFlavour = {
  name: "pass",
  extension: ".gpg",
  storeDirVariable: "PASSWORD_STORE_DIR",
};

/** passage: age-encrypted `.age` entries under PASSAGE_DIR. */
export const PASSAGE: PassFlavour = {
  name: "passage",
  extension: ".age",
  storeDirVariable: "PASSAGE_DIR",
};

/** How to reach the password store. */
export interface PassOptions {
  /** The password store directory (already resolved: --pass-dir, PASSWORD_STORE_DIR, ~). */
  storeDir: string;
  /** pass or passage; default pass. */
  flavour?: PassFlavour;
  /** The executable; default the flavour's name. */
  passCmd?: string;
  /** Folder for our entries; default "" (the store root, as aws-vault). */
  prefix?: string;
  /** Names of config profiles: root entries with these names may be aws-vault credentials. */
  profileNames?: () => Promise<Set<string>>;
  /** Variables for the tool on top of the inherited ones (GNUPGHOME, for tests). */
  env?: Record<string, string>;
}

/** The entry name of a key: `%` and `/` percent-escaped, everything else verbatim. */
export function escapeKey(key: string): string {
  return key.replaceAll("%", "%25").replaceAll("/", "%2F");
}

/** The key of an escaped entry name. */
export function unescapeKey(name: string): string {
  return name.replace(/%(25|2F)/gi, (m) => m[2] === "5" ? "%" : "/");
}

/** The entry name a key is written under: aws-vault's path when it round-trips, else escaped. */
export function entryName(key: string): string {
  return collapse(key) === key && !/%(25|2f)/i.test(key) ? key : escapeKey(key);
}

/** Whether a root entry name looks like something aws-vault stores (see the module comment). */
export function looksLikeAwsVaultKey(name: string): boolean {
  return name.startsWith("oidc:") ||
    /^[^,]+,[^,]+,[^,]*,\d+$/.test(name) || // session key (current and v5 legacy)
    /^session:.*:\d+$/.test(name) ||
    / session \(\d+\)$/.test(name);
}

/** Opens a pass (or passage) keyring. Nothing runs until the first operation. */
export function openPassKeyring(options: PassOptions): Keyring {
  return new PassKeyring(options);
}

class PassKeyring implements Keyring {
  readonly name: string;
  readonly #flavour: PassFlavour;
  readonly #cmd: string;
  readonly #dir: string;
  readonly #prefix: string;
  readonly #profileNames: () => Promise<Set<string>>;
  /** Root entry name -> the Item key it holds, or null when it is not an aws-vault item. */
  readonly #rootChecked = new Map<string, string | null>();
  readonly #extraEnv: Record<string, string>;

  constructor(options: PassOptions) {
    this.#flavour = options.flavour ?? PASS;
    this.name = this.#flavour.name;
    this.#cmd = options.passCmd || this.#flavour.name;
    this.#dir = options.storeDir;
    this.#prefix = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.#profileNames = options.profileNames ?? (() => Promise.resolve(new Set()));
    this.#extraEnv = options.env ?? {};
  }

  async get(key: string): Promise<Item | undefined> {
    const found = await this.#locate(key);
    return found?.item;
  }

  async getMetadata(key: string): Promise<ItemMetadata | undefined> {
    const found = await this.#locate(key);
    if (!found) return undefined;
    const info = await Deno.stat(this.#file(found.entry));
    return { modificationTime: info.mtime ?? undefined };
  }

  /** Throws when the tool cannot store an item under this key (also for a name past NAME_MAX). */
  checkKey(key: string): void {
    checkKey(key);
    const parts = `${entryName(key)}${this.#flavour.extension}`.split("/");
    if (parts.some((part) => new TextEncoder().encode(part).length > 255)) {
      throw new KeyringError(
        `key ${JSON.stringify(key.slice(0, 40))}... is too long for a pass entry name`,
      );
    }
  }

  async set(item: Item): Promise<void> {
    this.checkKey(item.key);
    const entry = join(this.#prefix, entryName(item.key));
    if (
      this.#prefix === "" && await exists(this.#file(entry)) &&
      await this.#rootItemKey(entry) !== item.key
    ) {
      // The store root is the user's too: never overwrite one of their passwords.
      throw new KeyringError(
        `${this.#flavour.name} entry '${entry}' exists and is not an aws-vault item: not overwritten (choose a folder with --pass-prefix)`,
      );
    }
    await runToolOk(this.#cmd, ["insert", "-m", "-f", "--", entry], `cannot store '${item.key}'`, {
      stdin: encodeItemJson(item),
      env: this.#env(),
    });
    this.#rootChecked.set(entry, item.key);
    // A copy under another name (the legacy folder, an escaped name) would shadow or outlive it.
    for (const other of this.#names(item.key)) {
      if (other.entry === entry || !await exists(this.#file(other.entry))) continue;
      if (other.verify && await this.#rootItemKey(other.entry) !== item.key) continue;
      await this.#rm(other.entry, item.key);
    }
  }

  async remove(key: string): Promise<boolean> {
    let removed = false;
    // Remove every copy (aws-vault's, an escaped one, a legacy one) so the key is really gone.
    for (;;) {
      const found = await this.#locate(key);
      if (!found) return removed;
      await this.#rm(found.entry, key);
      removed = true;
    }
  }

  async keys(): Promise<string[]> {
    const keys = new Set<string>();
    const listed = (name: string) => name.includes("/") ? name : unescapeKey(name);
    if (this.#prefix !== "") {
      for (const name of await this.#list(join(this.#dir, this.#prefix))) keys.add(listed(name));
      return [...keys];
    }
    for (const name of await this.#list(join(this.#dir, LEGACY_PASS_PREFIX))) {
      keys.add(listed(name));
    }
    for (const entry of await this.#rootCandidates()) {
      const key = await this.#rootItemKey(entry);
      if (key !== null) keys.add(key);
    }
    return [...keys];
  }

  /** Where a key may be, in order; `verify`: a root entry, trusted only if it holds that key. */
  #names(key: string): Array<{ entry: string; verify: boolean }> {
    const names = [...new Set([entryName(key), escapeKey(key), collapse(key)])];
    const out = names.map((n) => ({ entry: join(this.#prefix, n), verify: this.#prefix === "" }));
    if (this.#prefix === "") {
      for (const n of new Set([escapeKey(key), collapse(key)])) {
        out.push({ entry: join(LEGACY_PASS_PREFIX, n), verify: false });
      }
    }
    return out;
  }

  /** Finds the entry holding a key. */
  async #locate(key: string): Promise<{ entry: string; item: Item } | undefined> {
    checkKey(key);
    for (const { entry, verify } of this.#names(key)) {
      if (!await exists(this.#file(entry))) continue;
      if (verify && await this.#rootItemKey(entry) !== key) continue;
      return { entry, item: { ...await this.#show(entry), key } };
    }
    return undefined;
  }

  async #rm(entry: string, key: string): Promise<void> {
    const result = await runTool(this.#cmd, ["rm", "-f", "--", entry], { env: this.#env() });
    // pass exits 0 even when its own `rm` failed (a read-only folder): the file tells.
    if (result.code !== 0 || await exists(this.#file(entry))) {
      throw toolFailure(this.#cmd, `cannot remove '${key}'`, result);
    }
    this.#rootChecked.delete(entry);
  }

  /** Root entries whose names look like aws-vault keys. */
  async #rootCandidates(): Promise<string[]> {
    const profiles = await this.#profileNames();
    const out: string[] = [];
    for (const name of await this.#list(this.#dir, { skipDir: LEGACY_PASS_PREFIX })) {
      const key = name.includes("/") ? name : unescapeKey(name);
      if (looksLikeAwsVaultKey(key) || profiles.has(key)) out.push(name);
    }
    return out;
  }

  /** The key of the aws-vault item in a root entry, or null when it is something else. */
  async #rootItemKey(entry: string): Promise<string | null> {
    if (!this.#rootChecked.has(entry)) {
      let key: string | null = null;
      try {
        const item = await this.#show(entry);
        const matches = item.key === unescapeKey(entry) || collapse(item.key) === entry;
        if (matches && item.key !== "") key = item.key;
      } catch {
        key = null; // not Item JSON: the user's own password
      }
      this.#rootChecked.set(entry, key);
    }
    return this.#rootChecked.get(entry) ?? null;
  }

  async #show(entry: string): Promise<Item> {
    const result = await runToolOk(this.#cmd, ["show", "--", entry], `cannot read '${entry}'`, {
      env: this.#env(),
    });
    return decodeItemJson(stdoutText(result), `${this.#flavour.name} entry '${entry}'`);
  }

  #file(entry: string): string {
    return join(this.#dir, `${entry}${this.#flavour.extension}`);
  }

  #list(dir: string, opts: { skipDir?: string } = {}): Promise<string[]> {
    return listEntries(dir, this.#flavour.extension, opts);
  }

  #env(): Record<string, string> {
    return { ...this.#extraEnv, [this.#flavour.storeDirVariable]: this.#dir };
  }
}

/** Rejects keys no store can name. */
function checkKey(key: string): void {
  if (key === "") throw new KeyringError("an empty key cannot be stored in pass");
  if (/[\n\r\0]/.test(key)) {
    throw new KeyringError(
      `key ${JSON.stringify(key)} has a line break or NUL, which pass cannot store`,
    );
  }
  // aws-vault does not escape keys in pass; a `..` part would reach outside the store.
  if (collapse(key).split("/").some((part) => part === "." || part === "..")) {
    throw new KeyringError(`key ${JSON.stringify(key)} has a '.' or '..' path part`);
  }
}

/** aws-vault's entry path for a key: path-joined, so `//` collapses to `/`. */
function collapse(key: string): string {
  return key.replace(/\/{2,}/g, "/").replace(/^\/|\/$/g, "");
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Entry names (relative path without the extension) under a directory, recursively. */
async function listEntries(
  dir: string,
  extension: string,
  opts: { skipDir?: string } = {},
): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(rel === "" ? dir : join(dir, rel)));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw new KeyringError(`cannot list the password store ${dir}: ${(err as Error).message}`);
    }
    for (const e of entries) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory) {
        if (e.name.startsWith(".") || (rel === "" && e.name === opts.skipDir)) continue;
        await walk(path);
      } else if (e.isFile && e.name.endsWith(extension)) {
        out.push(path.slice(0, -extension.length));
      }
    }
  };
  await walk("");
  return out;
}

/**
 * Joins path parts with `/`, collapsing repeated slashes as Go's filepath.Join does for the
 * names aws-vault stored. (Not node:path: a static node: import costs every command startup.)
 */
function join(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/").replace(/\/{2,}/g, "/");
}
