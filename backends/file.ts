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
import { removeStaleTempFiles, TEMP_PREFIX, writeFileAtomic } from "../lib/fs/atomic.ts";
import { goJsonEscape } from "../lib/go_json.ts";
import { decodeItemJson, encodeItemJson } from "./item_json.ts";
import { type Item, type ItemMetadata, type Keyring, KeyringError } from "./keyring.ts";
import { base64ToBytes } from "../lib/encoding.ts";

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
/** Environment variable holding the passphrase (used even when empty). */
export const PASSPHRASE_ENV = "AWS_VAULT_FILE_PASSPHRASE";

/** Options for FileKeyring. */
export interface FileKeyringOptions {
  /** The passphrase from the environment, when set (may be empty). */
  passphrase?: string;
  /** Where to prompt for the passphrase when none is given. */
  terminal: Terminal;
  /** Debug logger (never receives secrets). */
  debug?: (message: string) => void;
  /** The clock (default: the system's): item `created` headers, stale temp files. */
  now?: () => Date;
}

/** Opens the file backend for these global options (`--file-dir`, `~/` expanded). */
export function openFileKeyring(
  options: { fileDir?: string },
  runtime: Runtime,
  log?: Logger,
): Promise<Keyring> {
  let dir = expandHome(options.fileDir || "~/.awsvault/keys/", () => runtime.homeDir());
  dir = dir.length > 1 ? dir.replace(/\/+$/, "") : dir;
  return Promise.resolve(
    new FileKeyring(dir, {
      passphrase: runtime.env.get(PASSPHRASE_ENV),
      terminal: runtime.terminal,
      debug: log && ((message) => log.debug(message)),
      now: () => runtime.now(),
    }),
  );
}

/** Thrown inside this module when a JWE does not decrypt with the passphrase. */
class DecryptionFailed extends Error {}

/** A directory of aws-vault JWE item files. */
export class FileKeyring implements Keyring {
  readonly name = "file";
  readonly dir: string;
  #options: FileKeyringOptions;
  #passphrase: string | undefined;
  /** True once the passphrase decrypted an item or was confirmed for a new vault. */
  #verified = false;
  #verifying: Promise<void> | undefined;
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
    const path = this.#pathOf(key);
    const text = await this.#readItemFile(path);
    if (text === undefined) return undefined;
    const passphrase = await this.#getPassphrase();
    try {
      const item = await decryptItem(text, passphrase, path);
      this.#verified = true;
      return item;
    } catch (err) {
      if (!(err instanceof DecryptionFailed)) throw err;
      if (this.#verified) {
        throw new KeyringError(
          `cannot decrypt ${path}: the item is corrupt or was encrypted with another passphrase`,
        );
      }
      this.#forgetPassphrase();
      throw new UserError(`wrong passphrase for vault ${this.dir}`);
    }
  }

  async getMetadata(key: string): Promise<ItemMetadata | undefined> {
    try {
      const info = await Deno.stat(this.#pathOf(key));
      return { modificationTime: info.mtime ?? undefined };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw this.#fsError(err);
    }
  }

  async set(item: Item): Promise<void> {
    const path = this.#pathOf(item.key);
    await this.#ensureDir();
    const passphrase = await this.#getPassphrase();
    if (!this.#verified) {
      // Concurrent writers share one check (and one confirmation prompt).
      this.#verifying ??= this.#verifyForWrite(passphrase).finally(() =>
        this.#verifying = undefined
      );
      await this.#verifying;
    }
    const jwe = await encryptItem(item, passphrase, this.#now());
    try {
      await writeFileAtomic(path, jwe, { mode: 0o600 });
    } catch (err) {
      throw this.#fsError(err);
    }
    // Writers killed mid-write leave encrypted temp files; a later write tidies them up.
    await removeStaleTempFiles(this.dir, { olderThanMs: STALE_TEMP_MS, now: this.#now() });
  }

  async remove(key: string): Promise<boolean> {
    try {
      await Deno.remove(this.#pathOf(key));
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw this.#fsError(err);
    }
  }

  /** One lstat: the item file exists and is a regular file `keys()` lists. */
  async has(key: string): Promise<boolean> {
    if (key === "" || key === "." || key === ".." || key.includes("\0")) return false;
    const name = encodeFileName(key);
    if (name.startsWith(TEMP_PREFIX)) return false;
    try {
      return (await Deno.lstat(`${this.dir}/${name}`)).isFile;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw this.#fsError(err);
    }
  }

  async keys(): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.dir)) {
        if (!entry.isFile || entry.name.startsWith(TEMP_PREFIX)) continue;
        names.push(decodeFileName(entry.name));
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw this.#fsError(err);
    }
    return names;
  }

  /**
   * Proves the passphrase before the first write: it must decrypt an existing item. A vault with
   * no readable item is new, and a prompted passphrase must then be typed twice.
   */
  async #verifyForWrite(passphrase: string): Promise<void> {
    let sawWrongPassphrase = false;
    for (const key of await this.keys()) {
      const path = this.#pathOf(key);
      const text = await this.#readItemFile(path).catch(() => undefined);
      if (text === undefined) continue;
      try {
        await decryptItem(text, passphrase, path);
        this.#verified = true;
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
    this.#verified = true;
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

  async #readItemFile(path: string): Promise<string | undefined> {
    try {
      return await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw this.#fsError(err);
    }
  }

  async #ensureDir(): Promise<void> {
    try {
      await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw this.#fsError(err);
    }
  }

  #pathOf(key: string): string {
    return `${this.dir}/${encodeFileName(key)}`;
  }

  #fsError(err: unknown): Error {
    if (err instanceof UserError || err instanceof KeyringError) return err;
    if (err instanceof Deno.errors.PermissionDenied) {
      return new KeyringError(`cannot access vault directory ${this.dir}: permission denied`);
    }
    if (err instanceof Deno.errors.NotADirectory || err instanceof Deno.errors.AlreadyExists) {
      return new KeyringError(`vault directory ${this.dir} is not a directory`);
    }
    return new KeyringError(`vault directory ${this.dir}: ${(err as Error).message}`);
  }
}

/** aws-vault's file name for a key: only `%` and `/` are percent-encoded. */
export function encodeFileName(key: string): string {
  if (key === "" || key === "." || key === ".." || key.includes("\0")) {
    throw new KeyringError(`invalid item key ${JSON.stringify(key)}`);
  }
  return key.replaceAll("%", "%25").replaceAll("/", "%2F");
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
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Encrypts an item into aws-vault's JWE compact form. */
export async function encryptItem(item: Item, passphrase: string, now: Date): Promise<string> {
  const { CompactEncrypt } = await import("jose");
  const payload = new TextEncoder().encode(goJsonEscape(encodeItemJson(item)));
  // jose appends p2c and p2s after these, giving Go's sorted key order byte for byte.
  return await new CompactEncrypt(payload)
    .setProtectedHeader({ alg: FILE_ALG, created: goTimeString(now), enc: FILE_ENC })
    .setKeyManagementParameters({
      p2c: FILE_P2C,
      p2s: crypto.getRandomValues(new Uint8Array(12)),
    })
    .encrypt(new TextEncoder().encode(passphrase));
}

/**
 * Decrypts one item file. Throws DecryptionFailed when the passphrase does not open it and a
 * KeyringError naming the file when it is not an aws-vault item.
 */
async function decryptItem(text: string, passphrase: string, path: string): Promise<Item> {
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
  const jose = await import("jose");
  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await jose.compactDecrypt(jwe, new TextEncoder().encode(passphrase), {
      keyManagementAlgorithms: [FILE_ALG],
      contentEncryptionAlgorithms: [FILE_ENC],
      maxPBES2Count: MAX_P2C,
    }));
  } catch (err) {
    if (err instanceof jose.errors.JWEDecryptionFailed) throw new DecryptionFailed();
    throw new KeyringError(`${path}: not a valid aws-vault item (${(err as Error).message})`);
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
