/**
 * The `keyctl` backend: Linux kernel keys through keyutils' `keyctl`. Like aws-vault, items are
 * `user` keys described by the item key with the raw Item.Data as payload (label and description
 * are not kept), inside a keyring named `aws-vault` in the scope keyring (`--keyctl-scope`,
 * default `user`; aws-vault never sets a scope, so its keyctl backend cannot open at all).
 * Payloads go in through `keyctl padd` on stdin, never argv.
 */
import type { Item, ItemMetadata, Keyring } from "./keyring.ts";
import { KeyringError, newItem } from "./keyring.ts";
import { runTool, runToolOk, stdoutText, toolFailure } from "./exec_util.ts";

/** Scope names as `--keyctl-scope` spells them, and keyctl's special keyring ids. */
export const KEYCTL_SCOPES: Record<string, string> = {
  user: "@u",
  usersession: "@us",
  session: "@s",
  process: "@p",
  thread: "@t",
};

/** The kernel's limit on a `user` key payload. */
export const KEYCTL_MAX_PAYLOAD = 32767;

/** The kernel's limit on a key description (bytes; KEY_MAX_DESC_SIZE less the NUL). */
export const KEYCTL_MAX_DESCRIPTION = 4095;

/** Possessor and user may view, read, write, search, link and set attributes. */
const PERMISSIONS = "0x3f3f0000";

/** Options for the keyctl keyring. */
export interface KeyctlOptions {
  /** One of KEYCTL_SCOPES' names. */
  scope: string;
  /** Name of our keyring inside the scope keyring; default `aws-vault`. */
  ringName?: string;
  /** The keyctl executable; default `keyctl`. */
  keyctlCmd?: string;
  /**
   * Runs `fn` under a cross-process lock. `keyctl newring` replaces a ring of the same name, so
   * two processes creating ours at once could each lose the other's items; creation runs under
   * this lock. Default: no lock (one process only).
   */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** Opens the keyctl keyring; throws a KeyringError for an unknown scope. */
export function openKeyctlKeyring(options: KeyctlOptions): Keyring {
  const scope = KEYCTL_SCOPES[options.scope];
  if (!scope) {
    throw new KeyringError(
      `unknown keyctl scope '${options.scope}' (use one of ${
        Object.keys(KEYCTL_SCOPES).join(", ")
      })`,
    );
  }
  return new KeyctlKeyring(
    scope,
    options.ringName ?? "aws-vault",
    options.keyctlCmd ?? "keyctl",
    options.lock ?? ((fn) => fn()),
  );
}

const NOT_FOUND = /Required key not available|No such file or directory/;

class KeyctlKeyring implements Keyring {
  readonly name = "keyctl";
  /** Creation in flight, so parallel set() calls of one process make one keyring, not several. */
  #creating: Promise<string> | undefined;

  constructor(
    private readonly scope: string,
    private readonly ringName: string,
    private readonly cmd: string,
    private readonly lock: <T>(fn: () => Promise<T>) => Promise<T>,
  ) {}

  async get(key: string): Promise<Item | undefined> {
    const id = await this.#find(key);
    if (id === undefined) return undefined;
    const result = await runTool(this.cmd, ["pipe", id]);
    if (result.code !== 0) {
      if (NOT_FOUND.test(result.stderr) || /Key has been revoked/.test(result.stderr)) {
        return undefined; // removed by another process between search and read
      }
      throw toolFailure(this.cmd, `cannot read '${key}'`, result);
    }
    return newItem({ key, data: result.stdout });
  }

  async getMetadata(key: string): Promise<ItemMetadata | undefined> {
    return await this.#find(key) === undefined ? undefined : {};
  }

  /** One `keyctl search` (keys() runs one `rdescribe` per key). */
  async has(key: string): Promise<boolean> {
    try {
      checkKey(key);
    } catch {
      return false; // such a key cannot be stored, so keys() never lists it
    }
    return await this.#find(key) !== undefined;
  }

  /** Throws for a key keyctl cannot store, so a session is refused before STS is asked. */
  checkKey(key: string): void {
    checkKey(key);
  }

  async set(item: Item): Promise<void> {
    checkKey(item.key);
    if (item.data.length > KEYCTL_MAX_PAYLOAD) {
      throw new KeyringError(
        `cannot store '${item.key}': ${item.data.length} bytes is more than the kernel keyring ` +
          `holds in one key (${KEYCTL_MAX_PAYLOAD})`,
      );
    }
    const ring = await this.#ring({ create: true });
    const added = await runToolOk(
      this.cmd,
      ["padd", "user", item.key, ring!],
      `cannot store '${item.key}'`,
      {
        stdin: item.data,
      },
    );
    const id = stdoutText(added).trim();
    await runToolOk(this.cmd, ["setperm", id, PERMISSIONS], `cannot store '${item.key}'`);
  }

  async remove(key: string): Promise<boolean> {
    const ring = await this.#ring({ create: false });
    if (ring === undefined) return false;
    const id = await this.#find(key, ring);
    if (id === undefined) return false;
    const result = await runTool(this.cmd, ["unlink", id, ring]);
    if (result.code === 0) return true;
    if (NOT_FOUND.test(result.stderr)) return false;
    throw toolFailure(this.cmd, `cannot remove '${key}'`, result);
  }

  async keys(): Promise<string[]> {
    const ring = await this.#ring({ create: false });
    if (ring === undefined) return [];
    const ids = stdoutText(await runToolOk(this.cmd, ["rlist", ring], "cannot list keys"))
      .trim().split(/\s+/).filter((s) => s !== "");
    const keys = await Promise.all(ids.map(async (id) => {
      const result = await runTool(this.cmd, ["rdescribe", id]);
      if (result.code !== 0) return undefined; // gone meanwhile
      // type;uid;gid;perm;description (the description may itself contain ';')
      const parts = stdoutText(result).replace(/\n$/, "").split(";");
      return parts[0] === "user" ? parts.slice(4).join(";") : undefined;
    }));
    return keys.filter((k): k is string => k !== undefined);
  }

  /** Our keyring's id, created when asked; undefined when missing and not created. */
  async #ring(opts: { create: boolean }): Promise<string | undefined> {
    const found = await this.#lookupRing();
    if (found !== undefined || !opts.create) return found;
    this.#creating ??= this.lock(() => this.#create()).finally(() => this.#creating = undefined);
    return await this.#creating;
  }

  async #create(): Promise<string> {
    // Search again: another call or process may have made it while this one waited.
    const found = await this.#lookupRing();
    if (found !== undefined) return found;
    const made = await runToolOk(
      this.cmd,
      ["newring", this.ringName, this.scope],
      `cannot create keyring '${this.ringName}' in ${this.scope}`,
    );
    const id = stdoutText(made).trim();
    await runToolOk(
      this.cmd,
      ["setperm", id, PERMISSIONS],
      `cannot set up keyring '${this.ringName}'`,
    );
    return id;
  }

  /** Our ring's id when it is linked in the scope keyring itself, else undefined. */
  async #lookupRing(): Promise<string | undefined> {
    const what = `cannot open keyring '${this.ringName}' in ${this.scope}`;
    const found = await runTool(this.cmd, ["search", this.scope, "keyring", this.ringName]);
    if (found.code !== 0) {
      if (NOT_FOUND.test(found.stderr)) return undefined;
      throw toolFailure(this.cmd, what, found);
    }
    const id = stdoutText(found).trim();
    // search descends into linked keyrings, and @us (and pam_keyinit's @s) link @u: a ring
    // found there is another scope's. The scope's own ring, when linked, is found first.
    const direct = stdoutText(await runToolOk(this.cmd, ["rlist", this.scope], what));
    return direct.trim().split(/\s+/).includes(id) ? id : undefined;
  }

  /** The id of the key with this description, or undefined. */
  async #find(key: string, ring?: string): Promise<string | undefined> {
    checkKey(key);
    ring ??= await this.#ring({ create: false });
    if (ring === undefined) return undefined;
    const result = await runTool(this.cmd, ["search", ring, "user", key]);
    if (result.code === 0) return stdoutText(result).trim();
    if (NOT_FOUND.test(result.stderr)) return undefined;
    throw toolFailure(this.cmd, `cannot look up '${key}'`, result);
  }
}

function checkKey(key: string): void {
  if (key === "") throw new KeyringError("an empty key cannot be stored in the kernel keyring");
  if (key.startsWith("-")) {
    throw new KeyringError(`key '${key}' starts with '-', which keyctl would read as an option`);
  }
  if (/[\n\0]/.test(key)) {
    throw new KeyringError(`key ${JSON.stringify(key)} has a line break or NUL`);
  }
  const bytes = new TextEncoder().encode(key).length;
  if (bytes > KEYCTL_MAX_DESCRIPTION) {
    throw new KeyringError(
      `key ${JSON.stringify(key.slice(0, 40))}... is too long for the kernel keyring ` +
        `(${bytes} bytes, at most ${KEYCTL_MAX_DESCRIPTION})`,
    );
  }
}
