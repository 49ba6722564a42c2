/**
 * The `pass` backend: one gpg-encrypted entry per item holding aws-vault's Item JSON, written with
 * `pass insert -m -f` (JSON on stdin) and read with `pass show`.
 *
 * Where entries live: under `<prefix>/` (default prefix `aws-vault`, so `keys()` never lists the
 * user's own passwords, which aws-vault's empty default prefix does). Entry names percent-escape
 * `%` and `/` so every key round-trips; entries aws-vault wrote unescaped are still read.
 *
 * Prefix-less aws-vault items at the store root (written by aws-vault with no prefix) are still
 * found when the prefix is the default, but only root entries that look like aws-vault keys (a
 * session key, an `oidc:` key, or a name the caller says is a config profile) and that decrypt to
 * Item JSON whose Key matches the entry name. The name test avoids decrypting the user's other
 * passwords (and a gpg/pinentry round trip for each) on every `keys()` call; each root entry is
 * decrypted at most once per process.
 */
import { decodeItemJson, encodeItemJson } from "./item_json.ts";
import type { Item, ItemMetadata, Keyring } from "./keyring.ts";
import { KeyringError } from "./keyring.ts";
import { runTool, runToolOk, stdoutText, toolFailure } from "./exec_util.ts";

/** The default prefix for new stores. */
export const DEFAULT_PASS_PREFIX = "aws-vault";

/** How to reach the password store. */
export interface PassOptions {
  /** The password store directory (already resolved: --pass-dir, PASSWORD_STORE_DIR, ~). */
  storeDir: string;
  /** The pass executable; default `pass`. */
  passCmd?: string;
  /** Folder for our entries ("" for the store root); default `aws-vault`. */
  prefix?: string;
  /** Look for prefix-less aws-vault entries at the store root; default true when prefix is default. */
  findRootItems?: boolean;
  /** Names of config profiles: root entries with these names may be aws-vault credentials. */
  profileNames?: () => Promise<Set<string>>;
  /** Variables for pass and gpg on top of the inherited ones (GNUPGHOME, for tests). */
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

/** Whether a root entry name looks like something aws-vault stores (see the module comment). */
export function looksLikeAwsVaultKey(name: string): boolean {
  return name.startsWith("oidc:") ||
    /^[^,]+,[^,]+,[^,]*,\d+$/.test(name) || // session key (current and v5 legacy)
    /^session:.*:\d+$/.test(name) ||
    / session \(\d+\)$/.test(name);
}

/** Opens a pass keyring. Nothing runs until the first operation. */
export function openPassKeyring(options: PassOptions): Keyring {
  return new PassKeyring(options);
}

class PassKeyring implements Keyring {
  readonly name = "pass";
  readonly #cmd: string;
  readonly #dir: string;
  readonly #prefix: string;
  readonly #findRoot: boolean;
  readonly #profileNames: () => Promise<Set<string>>;
  /** Root entry name -> the Item key it holds, or null when it is not an aws-vault item. */
  readonly #rootChecked = new Map<string, string | null>();
  readonly #extraEnv: Record<string, string>;

  constructor(options: PassOptions) {
    this.#cmd = options.passCmd || "pass";
    this.#dir = options.storeDir;
    this.#prefix = (options.prefix ?? DEFAULT_PASS_PREFIX).replace(/^\/+|\/+$/g, "");
    this.#findRoot = options.findRootItems ?? this.#prefix === DEFAULT_PASS_PREFIX;
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

  /** Throws when pass cannot store an item under this key (also for a name past NAME_MAX). */
  checkKey(key: string): void {
    checkKey(key);
    if (new TextEncoder().encode(`${escapeKey(key)}.gpg`).length > 255) {
      throw new KeyringError(
        `key ${JSON.stringify(key.slice(0, 40))}... is too long for a pass entry name`,
      );
    }
  }

  async set(item: Item): Promise<void> {
    this.checkKey(item.key);
    const entry = this.#entry(escapeKey(item.key));
    await runToolOk(this.#cmd, ["insert", "-m", "-f", "--", entry], `cannot store '${item.key}'`, {
      stdin: encodeItemJson(item),
      env: this.#env(),
    });
  }

  async remove(key: string): Promise<boolean> {
    let removed = false;
    // Remove every copy (ours and a legacy root one) so the key is really gone.
    for (;;) {
      const found = await this.#locate(key);
      if (!found) return removed;
      const result = await runTool(this.#cmd, ["rm", "-f", "--", found.entry], {
        env: this.#env(),
      });
      if (result.code !== 0) throw toolFailure(this.#cmd, `cannot remove '${key}'`, result);
      this.#rootChecked.delete(found.entry);
      removed = true;
    }
  }

  async keys(): Promise<string[]> {
    const keys = new Set<string>();
    if (this.#prefix !== "") {
      for (const name of await listEntries(join(this.#dir, this.#prefix))) {
        keys.add(name.includes("/") ? name : unescapeKey(name));
      }
    }
    if (this.#prefix === "" || this.#findRoot) {
      for (const entry of await this.#rootCandidates()) {
        const key = await this.#rootItemKey(entry);
        if (key !== null) keys.add(key);
      }
    }
    return [...keys];
  }

  /** Finds the entry holding a key: ours (escaped, then aws-vault's raw path), then the root. */
  async #locate(key: string): Promise<{ entry: string; item: Item } | undefined> {
    checkKey(key);
    const raw = collapse(key);
    const names = [this.#entry(escapeKey(key))];
    if (raw !== escapeKey(key)) names.push(this.#entry(raw));
    for (const entry of names) {
      if (!await exists(this.#file(entry))) continue;
      return { entry, item: { ...await this.#show(entry), key } };
    }
    if (this.#findRoot && this.#prefix !== "") {
      for (const entry of new Set([escapeKey(key), raw])) {
        if (!await exists(this.#file(entry))) continue;
        if (await this.#rootItemKey(entry) !== key) continue;
        return { entry, item: { ...await this.#show(entry), key } };
      }
    }
    return undefined;
  }

  /** Root entries whose names look like aws-vault keys. */
  async #rootCandidates(): Promise<string[]> {
    const profiles = await this.#profileNames();
    const out: string[] = [];
    for (const name of await listEntries(this.#dir, { skipDir: this.#prefix })) {
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
    return decodeItemJson(stdoutText(result), `pass entry '${entry}'`);
  }

  #entry(name: string): string {
    return this.#prefix === "" ? name : `${this.#prefix}/${name}`;
  }

  #file(entry: string): string {
    return join(this.#dir, `${entry}.gpg`);
  }

  #env(): Record<string, string> {
    return { ...this.#extraEnv, PASSWORD_STORE_DIR: this.#dir };
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

/** Entry names (relative path without `.gpg`) under a directory, recursively. */
async function listEntries(dir: string, opts: { skipDir?: string } = {}): Promise<string[]> {
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
      } else if (e.isFile && e.name.endsWith(".gpg")) {
        out.push(path.slice(0, -4));
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
  return parts.join("/").replace(/\/{2,}/g, "/");
}
