/**
 * The `file` backend, byte-compatible with aws-vault's: one JWE file per item in a directory
 * (default `~/.awsvault/keys/`), PBES2-HS256+A128KW key wrapping with p2c 8192 and a 12-byte
 * salt, A256GCM content encryption, a `created` header, and aws-vault's Item JSON as payload.
 *
 * Unlike aws-vault: the passphrase prompt uses the controlling terminal (so it works with piped
 * stdin), is asked once per process even when empty, a new vault asks twice, and a write first
 * proves the passphrase against an existing item so a typo never splits the vault in two.
 */
import { UserError } from "../lib/errors.ts";
import type { Terminal } from "../lib/terminal.ts";
import type { Logger } from "../lib/logger.ts";
import { expandHome, type Runtime } from "../lib/runtime.ts";
import { LEGACY_TEMP_NAME, removeStaleTempFiles, writeFileAtomic } from "../lib/fs/atomic.ts";
import { fileStamp, isQuiet } from "../lib/fs/stamp.ts";
import { goJsonEscape } from "../lib/go_json.ts";
import { decodeItemJson, encodeItemJson } from "./item_json.ts";
import { decryptPbes2Jwe, JweDecryptionFailed, JweInvalid } from "./jwe.ts";
import {
  type Item,
  type ItemMetadata,
  type Keyring,
  KeyringError,
  type KeysSnapshot,
} from "./keyring.ts";
import { base64ToBytes, concatBytes } from "../lib/encoding.ts";

/** The key-wrapping algorithm aws-vault writes. */
export const FILE_ALG = "PBES2-HS256+A128KW";
/** The content-encryption algorithm aws-vault writes. */
export const FILE_ENC = "A256GCM";
/** PBKDF2 iterations aws-vault writes. */
export const FILE_P2C = 8192;
/** The largest p2c we derive with (jose2go's guard); more is refused before any work. */
export const MAX_P2C = 1_300_000;
/** Age after which a temporary file of an interrupted write is removed. */
const STALE_TEMP_MS = 10 * 60_000;
/**
 * The lock file of a vault's first write, in the vault directory: a `%` without two hex digits
 * after it is never an item's file name.
 */
const VAULT_LOCK = "%aws-vault-new-vault.lock";
/** The largest item file read (aws-vault items are a few KB; SSO tokens a few more). */
const MAX_ITEM_BYTES = 1024 * 1024;
/** How many times a typed passphrase may be wrong before the command fails. */
const PASSPHRASE_TRIES = 3;
/** The longest file name (bytes) Linux, macOS and Windows file systems take. */
const NAME_MAX = 255;
/** Prefix of long-name item files (see longFileName). */
const LONG_PREFIX = "%aws-vault-long-";
/** The JWE header field holding the key of a long-name item file. */
const KEY_HEADER = "aws-vault-key";
/** Environment variable holding the passphrase (used even when empty). */
export const PASSPHRASE_ENV = "AWS_VAULT_FILE_PASSPHRASE";

/**
 * Encrypts and decrypts items in place of the keyring's own passphrase: the credential agent
 * (lib/agent), which holds the passphrase so this process never sees it.
 */
export interface ItemCrypto {
  /**
   * The item in one file's text; undefined when this crypto cannot serve now (locked, gone):
   * the keyring then uses its own passphrase. Throws a KeyringError for a file it cannot open.
   */
  decrypt(text: string, path: string): Promise<Item | undefined>;
  /** The JWE text of an item; undefined when this crypto cannot serve now. */
  encrypt(item: Item, options: { keyHeader?: string }): Promise<string | undefined>;
  /** Told the passphrase once the keyring has proved it itself (so a locked agent unlocks). */
  unlock?(passphrase: string): Promise<void>;
}

/** Options for FileKeyring. */
export interface FileKeyringOptions {
  /** The passphrase from the environment, when set (may be empty). */
  passphrase?: string;
  /** Where to prompt for the passphrase when none is given. */
  terminal: Terminal;
  /** Debug logger (never receives secrets). */
  debug?: (message: string) => void;
  /** One line to the user (stderr), e.g. "wrong passphrase, try again". */
  notice?: (text: string) => void;
  /** The clock (default: the system's): item `created` headers, stale temp files. */
  now?: () => Date;
  /** Tried before the passphrase for every read and write (the credential agent). */
  crypto?: ItemCrypto;
}

/** What openFileKeyring reads of the backend options. */
export interface OpenFileKeyringOptions {
  fileDir?: string;
  /** The ItemCrypto for this vault directory, if one serves it. */
  fileCrypto?: (dir: string) => Promise<ItemCrypto | undefined>;
}

/** The vault directory the options name (`--file-dir`, `~/` expanded). */
export function fileVaultDir(options: { fileDir?: string }, runtime: Runtime): string {
  const dir = expandHome(options.fileDir || "~/.awsvault/keys/", () => runtime.homeDir());
  return dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
}

/** Opens the file backend for these options. */
export async function openFileKeyring(
  options: OpenFileKeyringOptions,
  runtime: Runtime,
  log?: Logger,
): Promise<FileKeyring> {
  const dir = fileVaultDir(options, runtime);
  return new FileKeyring(dir, {
    passphrase: runtime.env.get(PASSPHRASE_ENV),
    terminal: runtime.terminal,
    debug: log && ((message) => log.debug(message)),
    notice: (text) => runtime.stderr(`aws-vault: ${text}\n`),
    now: () => runtime.now(),
    crypto: await options.fileCrypto?.(dir),
  });
}

/** Thrown by decryptItem when a JWE does not decrypt with the passphrase. */
export class DecryptionFailed extends Error {}

/** A directory of aws-vault JWE item files. */
export class FileKeyring implements Keyring {
  readonly name = "file";
  readonly dir: string;
  #options: FileKeyringOptions;
  #passphrase: string | undefined;
  /** True once the passphrase decrypted an item or was confirmed for a new vault. */
  #verified = false;
  #verifying: Promise<void> | undefined;
  #dirChecked = false;
  /** True while the passphrase was confirmed for a vault with no item yet. */
  #creatingVault = false;
  #prompting: Promise<string> | undefined;

  constructor(dir: string, options: FileKeyringOptions) {
    this.dir = dir;
    this.#options = options;
    this.#passphrase = options.passphrase;
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  async get(key: string): Promise<Item | undefined> {
    await this.#checkDir();
    const path = await this.#pathOf(key);
    const text = readItemFile(this.dir, path);
    if (text === undefined) return undefined;
    return await this.#open(path, text);
  }

  async getMetadata(key: string): Promise<ItemMetadata | undefined> {
    await this.#checkDir();
    try {
      const info = Deno.statSync(await this.#pathOf(key));
      return { modificationTime: info.mtime ?? undefined };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw this.#fsError(err);
    }
  }

  async set(item: Item): Promise<void> {
    const path = await this.#pathOf(item.key);
    await this.#ensureDir();
    await this.#checkDir();
    if (await this.#writeByCrypto(path, item)) return;
    const passphrase = await this.verifiedPassphrase();
    if (this.#creatingVault) {
      // The first item of a new vault fixes its passphrase: written under the vault lock, after
      // a second look, so a parallel first write with another passphrase cannot start a second
      // vault in the same directory.
      // Loaded here, once per vault: reading (every cache-hit export) takes no lock.
      const { withLock } = await import("../lib/fs/lock.ts");
      await withLock(`${this.dir}/${VAULT_LOCK}`, async () => {
        if (this.#creatingVault) {
          this.#creatingVault = false;
          this.#verified = false;
          await this.#proveWithOtherItem(passphrase, "");
          if (!this.#verified && (await this.#hasReadableItem())) {
            this.#forgetPassphrase();
            throw new UserError(`wrong passphrase for vault ${this.dir}`);
          }
          this.#verified = true;
        }
        await this.#write(path, item, passphrase);
      }, { timeoutMs: 60_000 });
      return;
    }
    await this.#write(path, item, passphrase);
  }

  async #write(path: string, item: Item, passphrase: string): Promise<void> {
    await this.#keepUndecryptable(path);
    const jwe = await encryptItem(item, passphrase, this.#now(), {
      keyHeader: this.#keyHeaderOf(path, item),
    });
    await this.#store(path, jwe);
  }

  /** Writes through the ItemCrypto (the agent); false when there is none or it cannot serve. */
  async #writeByCrypto(path: string, item: Item): Promise<boolean> {
    const crypto = this.#options.crypto;
    if (!crypto) return false;
    await this.#keepUndecryptable(path);
    const jwe = await crypto.encrypt(item, { keyHeader: this.#keyHeaderOf(path, item) });
    if (jwe === undefined) return false;
    await this.#store(path, jwe);
    return true;
  }

  /** A file that does not decrypt may be the only copy of a key: never replace it. */
  async #keepUndecryptable(path: string): Promise<void> {
    const existing = readItemFile(this.dir, path);
    if (existing !== undefined) await this.#open(path, existing);
  }

  /** Long-name files carry their key in the JWE header. */
  #keyHeaderOf(path: string, item: Item): string | undefined {
    return path.slice(this.dir.length + 1).startsWith(LONG_PREFIX) ? item.key : undefined;
  }

  async #store(path: string, jwe: string): Promise<void> {
    try {
      await writeFileAtomic(path, jwe, { mode: 0o600 });
    } catch (err) {
      throw this.#fsError(err);
    }
    // Writers killed mid-write leave encrypted temp files; a later write tidies them up.
    await removeStaleTempFiles(this.dir, { olderThanMs: STALE_TEMP_MS, now: this.#now() });
  }

  /**
   * Removes an item once it decrypts: a wrong passphrase deletes nothing (as it writes nothing),
   * and a file that cannot be decrypted is kept.
   */
  async remove(key: string): Promise<boolean> {
    await this.#checkDir();
    const path = await this.#pathOf(key);
    const text = readItemFile(this.dir, path);
    if (text === undefined) return false;
    await this.#open(path, text);
    try {
      await Deno.remove(path);
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw this.#fsError(err);
    }
  }

  /** One lstat: the key's item file exists as a regular file, as `keys()` would list it. */
  async has(key: string): Promise<boolean> {
    if (key === "" || key === "." || key === ".." || key.includes("\0")) return false;
    await this.#checkDir();
    try {
      return Deno.lstatSync(await this.#pathOf(key)).isFile;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw this.#fsError(err);
    }
  }

  /**
   * The directory's identity (device, inode) and change times (mtime, ctime) and size: every
   * entry created, removed or renamed, by us or by aws-vault, changes mtime and ctime, and
   * nobody can set ctime back (lib/fs/stamp.ts). Undefined while the last change is within
   * QUIET_MS of our clock (or after it: a clock behind the file system's).
   */
  async keysSnapshot(): Promise<KeysSnapshot | undefined> {
    await this.#checkDir();
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(this.dir);
    } catch {
      return undefined;
    }
    const stamp = fileStamp(info);
    if (!info.isDirectory || !stamp || !isQuiet(info, this.#now())) return undefined;
    return { store: `file:${this.dir}`, stamp };
  }

  async keys(): Promise<string[]> {
    await this.#checkDir();
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.dir)) {
        // Only names aws-vault's escaping produces are items: temp files (`%aws-vault-tmp-...`)
        // and hand-made escapes (`a%2fb` is not the file of `a/b`) are not.
        if (!entry.isFile) continue;
        if (entry.name.startsWith(LONG_PREFIX)) {
          const key = await this.#longKeyOf(entry.name);
          if (key !== undefined) names.push(key);
          continue;
        }
        const key = decodeFileName(entry.name);
        if (isItemFileName(entry.name, key)) names.push(key);
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw this.#fsError(err);
    }
    return names;
  }

  /**
   * The passphrase (given or prompted), proved against the vault as before a first write.
   * `agent start` unlocks the agent with it.
   */
  async verifiedPassphrase(): Promise<string> {
    const passphrase = await this.#getPassphrase();
    if (!this.#verified) {
      // Concurrent writers share one check (and one confirmation prompt).
      this.#verifying ??= this.#verifyForWrite(passphrase).finally(() =>
        this.#verifying = undefined
      );
      await this.#verifying;
    }
    return passphrase;
  }

  /**
   * Proves the passphrase before the first write: it must decrypt an existing item. A vault with
   * no readable item is new, and a prompted passphrase must then be typed twice.
   */
  async #verifyForWrite(passphrase: string): Promise<void> {
    let sawWrongPassphrase = false;
    for (const key of await this.keys()) {
      const path = await this.#pathOf(key);
      const text = this.#readItemFileOrNothing(path);
      if (text === undefined) continue;
      try {
        await decryptItem(text, passphrase, path);
        await this.#markVerified(passphrase);
        return;
      } catch (err) {
        if (err instanceof DecryptionFailed) sawWrongPassphrase = true;
        else this.#options.debug?.(`skipping unreadable vault file ${path}`);
      }
    }
    if (sawWrongPassphrase) {
      this.#forgetPassphrase();
      throw new UserError(`wrong passphrase for vault ${this.dir}`);
    }
    if (this.#options.passphrase === undefined) {
      const again = await this.#options.terminal.readLine("Enter passphrase again to confirm: ", {
        echo: false,
      });
      if (again !== passphrase) {
        this.#forgetPassphrase();
        throw new UserError(`passphrases do not match; nothing was stored in ${this.dir}`);
      }
    }
    await this.#markVerified(passphrase);
    this.#creatingVault = true;
  }

  /** Whether some file of the vault is a JWE item (one that another passphrase may open). */
  async #hasReadableItem(): Promise<boolean> {
    for (const key of await this.keys()) {
      const text = this.#readItemFileOrNothing(await this.#pathOf(key));
      if (text !== undefined && text.trim().split(".").length === 5) return true;
    }
    return false;
  }

  /**
   * Decrypts an item file. When it does not decrypt, another item tells a wrong passphrase
   * (UserError, nothing changes) from a corrupt file (KeyringError, the file is kept).
   */
  async #open(path: string, text: string): Promise<Item> {
    const served = await this.#options.crypto?.decrypt(text, path);
    if (served) return served;
    for (let attempt = 1;; attempt++) {
      const passphrase = await this.#getPassphrase();
      try {
        const item = await decryptItem(text, passphrase, path);
        await this.#markVerified(passphrase);
        return item;
      } catch (err) {
        if (!(err instanceof DecryptionFailed || err instanceof KeyringError)) throw err;
        if (!this.#verified && err instanceof DecryptionFailed) {
          await this.#proveWithOtherItem(passphrase, path);
        }
        if (!this.#verified && err instanceof DecryptionFailed) {
          this.#forgetPassphrase();
          // A typed passphrase gets three tries, as sudo gives; one from the environment none.
          if (this.#options.passphrase === undefined && attempt < PASSPHRASE_TRIES) {
            this.#options.notice?.("wrong passphrase, try again");
            continue;
          }
          throw new UserError(`wrong passphrase for vault ${this.dir}`);
        }
        throw corrupt(path, err);
      }
    }
  }

  /** Sets #verified when the passphrase decrypts some other item of the vault. */
  async #proveWithOtherItem(passphrase: string, except: string): Promise<void> {
    for (const key of await this.keys()) {
      const path = await this.#pathOf(key);
      if (path === except) continue;
      const text = this.#readItemFileOrNothing(path);
      if (text === undefined) continue;
      try {
        await decryptItem(text, passphrase, path);
        this.#verified = true;
        return;
      } catch {
        // wrong passphrase or another bad file: try the next one
      }
    }
  }

  /** The key a long-name file holds in its header, if the file's name is that key's. */
  async #longKeyOf(name: string): Promise<string | undefined> {
    const text = this.#readItemFileOrNothing(`${this.dir}/${name}`);
    if (text === undefined) return undefined;
    let key: unknown;
    try {
      key = parseHeader(text.trim().split(".")[0], name)[KEY_HEADER];
    } catch {
      return undefined;
    }
    if (typeof key !== "string" || (await longFileName(key)) !== name) return undefined;
    return key;
  }

  /** Records a proved passphrase; the first time, hands it to a locked agent. */
  async #markVerified(passphrase: string): Promise<void> {
    if (this.#verified) return;
    this.#verified = true;
    await this.#options.crypto?.unlock?.(passphrase);
  }

  async #getPassphrase(): Promise<string> {
    if (this.#passphrase !== undefined) return this.#passphrase;
    // Concurrent callers share one prompt.
    this.#prompting ??= this.#options.terminal.readLine(
      `Enter passphrase to unlock "${this.dir}": `,
      { echo: false },
    ).finally(() => this.#prompting = undefined);
    const typed = await this.#prompting;
    this.#passphrase ??= typed;
    return typed;
  }

  #forgetPassphrase(): void {
    this.#passphrase = this.#options.passphrase;
    this.#verified = false;
  }

  /** {@link readItemFile}, with undefined for an unreadable file too. */
  #readItemFileOrNothing(path: string): string | undefined {
    try {
      return readItemFile(this.dir, path);
    } catch {
      return undefined;
    }
  }

  /** Refuses a vault directory that others may write to ({@link vaultDirProblem}); once. */
  #checkDir(): Promise<void> {
    if (Deno.build.os === "windows" || this.#dirChecked) return Promise.resolve();
    const problem = vaultDirProblem(this.dir);
    if (problem) return Promise.reject(problem);
    // Missing (created 0700 on the first write) or unreadable: asked again next time.
    if (problem === null) this.#dirChecked = true;
    return Promise.resolve();
  }

  async #ensureDir(): Promise<void> {
    try {
      await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw this.#fsError(err);
    }
  }

  /** The file of a key: aws-vault's name, or the long-name form when that passes NAME_MAX. */
  async #pathOf(key: string): Promise<string> {
    const name = encodeFileName(key);
    if (new TextEncoder().encode(name).length <= NAME_MAX) return `${this.dir}/${name}`;
    return `${this.dir}/${await longFileName(key)}`;
  }

  #fsError(err: unknown): Error {
    return vaultFsError(this.dir, err);
  }
}

/**
 * The text of an item file in vault `dir`, undefined when there is none. Only a regular file is
 * opened (a FIFO would block) and at most MAX_ITEM_BYTES are read (a pseudo file may never end).
 * (Module functions, not methods, on the read path: the bundle compiles them with their module,
 * so the code cache holds them; a method is compiled at its first call in every run.)
 */
function readItemFile(dir: string, path: string): string | undefined {
  // Synchronous calls: a cache hit reads one small file, and each asynchronous call costs a
  // trip to Deno's blocking-thread pool (the first one starts it: ~2 ms).
  let file: Deno.FsFile | undefined;
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) {
      throw new KeyringError(`${path} is not a regular file, so not a vault item`);
    }
    // A file whose size is told and small is read at once (an item is a few KB; opening and
    // reading it in parts costs ~0.4 ms more, cold); a pseudo file tells size 0.
    if (info.size > 0 && info.size <= MAX_ITEM_BYTES) {
      const text = Deno.readTextFileSync(path);
      if (text.length <= MAX_ITEM_BYTES) return text; // else it grew since the stat
      throw tooLargeItem(path);
    }
    file = Deno.openSync(path, { read: true });
    const chunks: Uint8Array[] = [];
    let size = 0;
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = file.readSync(buf);
      if (n === null) break;
      size += n;
      if (size > MAX_ITEM_BYTES) {
        throw tooLargeItem(path);
      }
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(concatBytes(chunks));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    if (err instanceof KeyringError || err instanceof Deno.errors.PermissionDenied) {
      throw vaultFsError(dir, err);
    }
    throw new KeyringError(`cannot read ${path}: ${(err as Error).message}`);
  } finally {
    file?.close();
  }
}

function tooLargeItem(path: string): KeyringError {
  return new KeyringError(`${path} is larger than ${MAX_ITEM_BYTES} bytes: not a vault item`);
}

/**
 * Whether vault directory `dir` may be used: a KeyringError when another user owns it or others
 * may write to it (whoever can write there can replace items or plant files), null when it is
 * ours, undefined when it cannot be looked at (missing or unreadable).
 */
function vaultDirProblem(dir: string): KeyringError | null | undefined {
  let info: Deno.FileInfo;
  try {
    // Synchronous: every command asks, and an asynchronous call costs a thread-pool trip.
    info = Deno.statSync(dir);
  } catch {
    return undefined;
  }
  const uid = Deno.uid();
  if (uid !== null && info.uid !== null && info.uid !== uid) {
    return new KeyringError(
      `vault directory ${dir} is owned by uid ${info.uid}, not by you (uid ${uid}): refusing it; use your own (chown ${uid} ${dir}, or --file-dir)`,
    );
  }
  const mode = (info.mode ?? 0) & 0o7777;
  if (mode & 0o022) {
    return new KeyringError(
      `vault directory ${dir} is writable by ${mode & 0o002 ? "everyone" : "its group"} (mode ${
        mode.toString(8).padStart(4, "0")
      }): refusing it; run chmod 700 ${dir}`,
    );
  }
  return null;
}

/** A file-system error about vault `dir` as one line. */
function vaultFsError(dir: string, err: unknown): Error {
  if (err instanceof UserError || err instanceof KeyringError) return err;
  if (err instanceof Deno.errors.PermissionDenied) {
    return new KeyringError(`cannot access vault directory ${dir}: permission denied`);
  }
  if (err instanceof Deno.errors.NotADirectory || err instanceof Deno.errors.AlreadyExists) {
    return new KeyringError(`vault directory ${dir} is not a directory`);
  }
  return new KeyringError(`vault directory ${dir}: ${(err as Error).message}`);
}

/**
 * aws-vault's file name for a key: only `%` and `/` are percent-encoded. The temp file names of
 * older releases (`.aws-vault-tmp-` and 16 hex digits) are reserved: such files are left-overs.
 */
export function encodeFileName(key: string): string {
  if (key === "" || key === "." || key === ".." || key.includes("\0")) {
    throw new KeyringError(`invalid item key ${JSON.stringify(key)}`);
  }
  if (LEGACY_TEMP_NAME.test(key)) {
    throw new KeyringError(`invalid item key ${JSON.stringify(key)}: reserved for temp files`);
  }
  return key.replaceAll("%", "%25").replaceAll("/", "%2F");
}

/**
 * The file name of a key whose escaped name is longer than NAME_MAX (aws-vault cannot store
 * such keys at all): a prefix no escaped name has, and the SHA-256 of the key. The key itself
 * is in the file's JWE header (authenticated with the content), so listing needs no passphrase.
 */
async function longFileName(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return LONG_PREFIX + Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** The error for an item file that does not decrypt while the passphrase is proven. */
function corrupt(path: string, err: Error): KeyringError {
  return new KeyringError(
    `${path} cannot be decrypted (corrupt, or encrypted with another passphrase); it is kept: move it away to replace it (${
      err instanceof KeyringError ? err.message : "integrity check failed"
    })`,
  );
}

/** Whether a directory entry is the file of `key` (its name is exactly aws-vault's escaping). */
function isItemFileName(name: string, key: string): boolean {
  try {
    return encodeFileName(key) === name;
  } catch {
    return false;
  }
}

/** The key of a file name: every `%XX` escape is decoded (as aws-vault does). */
export function decodeFileName(name: string): string {
  if (!name.includes("%")) return name;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < name.length;) {
    const hex = name.slice(i + 1, i + 3);
    if (name[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else {
      const cp = name.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      bytes.push(...enc.encode(ch));
      i += ch.length;
    }
  }
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array(bytes));
}

/** Encrypts an item into aws-vault's JWE compact form. */
export async function encryptItem(
  item: Item,
  passphrase: string | Uint8Array,
  now: Date,
  options: { keyHeader?: string } = {},
): Promise<string> {
  const { CompactEncrypt } = await import("./jose_encrypt.ts");
  const payload = new TextEncoder().encode(goJsonEscape(encodeItemJson(item)));
  const header: { alg: string; enc: string; [name: string]: string } = {
    alg: FILE_ALG,
    created: goTimeString(now),
    enc: FILE_ENC,
  };
  if (options.keyHeader !== undefined) header[KEY_HEADER] = options.keyHeader;
  // jose appends p2c and p2s after these, giving Go's sorted key order byte for byte.
  return await new CompactEncrypt(payload)
    .setProtectedHeader(header)
    .setKeyManagementParameters({
      p2c: FILE_P2C,
      p2s: crypto.getRandomValues(new Uint8Array(12)),
    })
    .encrypt(passphraseBytes(passphrase));
}

function passphraseBytes(passphrase: string | Uint8Array): Uint8Array {
  return typeof passphrase === "string" ? new TextEncoder().encode(passphrase) : passphrase;
}

/**
 * Decrypts one item file. Throws DecryptionFailed when the passphrase does not open it and a
 * KeyringError naming the file when it is not an aws-vault item.
 */
export async function decryptItem(
  text: string,
  passphrase: string | Uint8Array,
  path: string,
): Promise<Item> {
  const jwe = text.trim();
  const parts = jwe.split(".");
  if (parts.length !== 5) {
    throw new KeyringError(`${path}: not an aws-vault item (not a JWE in compact form)`);
  }
  const header = parseHeader(parts[0], path);
  if (header.alg !== FILE_ALG || header.enc !== FILE_ENC) {
    throw new KeyringError(
      `${path}: unsupported encryption ${String(header.alg)}/${String(header.enc)}`,
    );
  }
  const p2c = header.p2c;
  if (typeof p2c !== "number" || !Number.isInteger(p2c) || p2c < 1) {
    throw new KeyringError(`${path}: invalid p2c in the JWE header`);
  }
  if (p2c > MAX_P2C) {
    throw new KeyringError(`${path}: p2c ${p2c} exceeds the limit of ${MAX_P2C}; refusing it`);
  }
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await decryptPbes2Jwe(
      jwe,
      typeof passphrase === "string" ? passphrase : new TextDecoder().decode(passphrase),
      { maxP2c: MAX_P2C },
    ));
  } catch (err) {
    if (err instanceof JweDecryptionFailed) throw new DecryptionFailed();
    if (err instanceof JweInvalid) {
      throw new KeyringError(`${path}: not a valid aws-vault item (${err.message})`);
    }
    throw err;
  }
  let json: string;
  try {
    json = new TextDecoder("utf-8", { fatal: true }).decode(plaintext);
  } catch {
    throw new KeyringError(`${path}: item payload is not UTF-8`);
  }
  return decodeItemJson(json, path);
}

function parseHeader(segment: string, path: string): Record<string, unknown> {
  try {
    const header = JSON.parse(new TextDecoder().decode(base64ToBytes(segment)));
    if (typeof header === "object" && header !== null && !Array.isArray(header)) return header;
  } catch {
    // fall through
  }
  throw new KeyringError(`${path}: not an aws-vault item (bad JWE header)`);
}

/**
 * Go's `time.Time.String()` in UTC, as aws-vault's `created` header holds it:
 * `2024-01-02 03:04:05.123 +0000 UTC` (fraction without trailing zeros, none when zero).
 */
export function goTimeString(date: Date): string {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.123Z
  const fraction = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? "." + fraction : ""} +0000 UTC`;
}
