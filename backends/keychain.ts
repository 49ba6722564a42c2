/**
 * The macOS `keychain` backend through `/usr/bin/security`, as aws-vault stores items: generic
 * passwords in `<name>.keychain`, service `aws-vault`, account = key, label and description
 * (kind) from the Item, value = Item.Data only.
 *
 * Writes go through `security -i` with the command on stdin, so no secret is ever in argv.
 * Facts of `security` this relies on (Apple's SecurityTool source, security.c and
 * keychain_utilities.c):
 * - `-i` reads lines of at most 4095 bytes; a longer line is cut and its rest runs as a new
 *   command, and a last line without `\n` is dropped. We refuse lines over the limit.
 * - Lines are split on whitespace; `"..."` quotes an argument and `\` escapes the next byte.
 * - Exit code = the (last) command's OSStatus truncated to 8 bits: -25300 item not found -> 44.
 * - Errors go to stderr as `security: <call>: <message>`; with -i also `<cmd>: returned <n>`.
 * - Values print as `"text"` when every byte is printable ASCII other than `\`, else as
 *   `0x<HEX>` followed by the escaped text: the hex form is the exact bytes.
 */
import type { Item, ItemMetadata, Keyring } from "./keyring.ts";
import { KeyringError, newItem } from "./keyring.ts";
import { runTool, stdoutText, toolFailure, type ToolResult } from "./exec_util.ts";
import { bytesToHex, hexToBytes } from "../lib/encoding.ts";

/** The security tool. */
export const SECURITY_PATH = "/usr/bin/security";

/** aws-vault's service name for every item. */
export const KEYCHAIN_SERVICE = "aws-vault";

/** The longest command line `security -i` reads whole (its 4096-byte buffer, minus the NUL). */
export const SECURITY_MAX_LINE = 4095;

/** `security`'s exit code for errSecItemNotFound (-25300 truncated to 8 bits). */
const EXIT_ITEM_NOT_FOUND = 44;

/** Options for the keychain keyring. */
export interface KeychainOptions {
  /** Keychain name without `.keychain` (`--keychain`, default `aws-vault`). */
  keychain: string;
  /** The user's home (keychains live in ~/Library/Keychains). */
  home: string;
  /** The security binary (tests pass a stand-in). */
  securityPath?: string;
}

/** Opens the keychain keyring. */
export function openKeychainKeyring(options: KeychainOptions): Keyring {
  return new KeychainKeyring(options);
}

/** errSecItemNotFound and errSecNoSuchKeychain ("The specified keychain could not be found."). */
const NOT_FOUND = /could not be found/;
const ALREADY_EXISTS = /already exists/;

/** Attribute line prefixes as security prints them (tag, format, `=`). */
const ATTR_LABEL = "0x00000007 <blob>=";
const ATTR_ACCOUNT = '"acct"<blob>=';
const ATTR_SERVICE = '"svce"<blob>=';
const ATTR_KIND = '"desc"<blob>=';

class KeychainKeyring implements Keyring {
  readonly name = "keychain";
  readonly #cmd: string;
  readonly #keychain: string;
  #ensured: Promise<void> | undefined;

  constructor(options: KeychainOptions) {
    this.#cmd = options.securityPath ?? SECURITY_PATH;
    this.#keychain = `${options.keychain}.keychain`;
  }

  async get(key: string): Promise<Item | undefined> {
    checkText("key", key);
    const r = await this.#run([
      "find-generic-password",
      "-s",
      KEYCHAIN_SERVICE,
      "-a",
      key,
      "-g",
      this.#keychain,
    ]);
    if (r.code !== 0) {
      if (isNotFound(r)) return undefined;
      throw this.#failure(`cannot read '${key}' from the keychain`, r);
    }
    const attributes = stdoutText(r);
    return newItem({
      key,
      data: parsePassword(r.stderr),
      label: attributeValue(attributes, ATTR_LABEL) ?? "",
      description: attributeValue(attributes, ATTR_KIND) ?? "",
    });
  }

  async getMetadata(key: string): Promise<ItemMetadata | undefined> {
    return await this.get(key) === undefined ? undefined : {};
  }

  async set(item: Item): Promise<void> {
    const line = setCommandLine(item, this.#keychain);
    const size = new TextEncoder().encode(line).length;
    if (size > SECURITY_MAX_LINE) {
      throw new KeyringError(
        `item '${item.key}' is too large for the keychain: its 'security -i' command line ` +
          `would be ${size} bytes, at most ${SECURITY_MAX_LINE} are read`,
      );
    }
    await this.#ensureKeychain();
    const r = await this.#run(["-i"], `${line}\n`);
    // `-i` exits with the last command's status; "returned" also catches a status that the
    // 8-bit exit code truncates to 0.
    if (r.code !== 0 || /^add-generic-password: returned /m.test(r.stderr)) {
      throw this.#failure(`cannot store '${item.key}' in the keychain`, r);
    }
  }

  async remove(key: string): Promise<boolean> {
    checkText("key", key);
    const r = await this.#run([
      "delete-generic-password",
      "-s",
      KEYCHAIN_SERVICE,
      "-a",
      key,
      this.#keychain,
    ]);
    if (r.code === 0) return true;
    if (isNotFound(r)) return false;
    throw this.#failure(`cannot remove '${key}' from the keychain`, r);
  }

  async keys(): Promise<string[]> {
    const r = await this.#run(["dump-keychain", this.#keychain]);
    if (r.code !== 0) {
      if (isNotFound(r)) return []; // no keychain yet
      throw this.#failure("cannot list the keychain", r);
    }
    const keys: string[] = [];
    for (const block of stdoutText(r).split(/^(?=keychain: )/m)) {
      if (!/^class: "genp"$/m.test(block)) continue;
      if (attributeValue(block, ATTR_SERVICE) !== KEYCHAIN_SERVICE) continue;
      const account = attributeValue(block, ATTR_ACCOUNT);
      if (account !== undefined) keys.push(account);
    }
    return keys;
  }

  /** Creates the keychain on first write; once per process, tolerating a concurrent creator. */
  #ensureKeychain(): Promise<void> {
    this.#ensured ??= this.#createKeychainIfMissing().catch((err) => {
      this.#ensured = undefined;
      throw err;
    });
    return this.#ensured;
  }

  async #createKeychainIfMissing(): Promise<void> {
    const info = await this.#run(["show-keychain-info", this.#keychain]);
    if (info.code === 0) return;
    // security asks for the new keychain's password itself, on the terminal.
    const r = await this.#run(["create-keychain", this.#keychain]);
    if (r.code !== 0 && !ALREADY_EXISTS.test(r.stderr)) {
      throw this.#failure(`cannot create the keychain ${this.#keychain}`, r);
    }
  }

  #run(args: string[], stdin?: string): Promise<ToolResult> {
    return runTool(this.#cmd, args, stdin === undefined ? {} : { stdin });
  }

  #failure(what: string, r: ToolResult): KeyringError {
    // find-generic-password -g prints the secret on stderr; never let it reach a message.
    const stderr = r.stderr.split("\n")
      .filter((l) => !l.startsWith("password: "))
      .map((l) => l.replace(/^security: /, ""))
      .join("\n");
    return toolFailure("security", what, { ...r, stderr });
  }
}

function isNotFound(r: ToolResult): boolean {
  return r.code === EXIT_ITEM_NOT_FOUND || NOT_FOUND.test(r.stderr);
}

/**
 * The `add-generic-password` line for `security -i`. The value goes as quoted text (`-w`) when
 * it is UTF-8 that fits on one line, which keeps aws-vault's JSON at its size; anything else
 * goes as hex (`-X`). Credential items (`keychainNotTrustApplication`) get an empty trusted-app
 * list (`-T ""`): every read asks the user, as with aws-vault. Other items keep security's
 * default ACL, which trusts the creating program (`security` itself).
 */
export function setCommandLine(item: Item, keychain: string): string {
  checkText("key", item.key);
  checkText("label", item.label);
  checkText("description", item.description);
  const text = lineSafeText(item.data);
  const args = [
    "add-generic-password",
    "-U",
    "-s",
    KEYCHAIN_SERVICE,
    "-a",
    item.key,
    "-l",
    item.label,
    "-D",
    item.description,
    ...(item.keychainNotTrustApplication ? ["-T", ""] : []),
    ...(text === undefined ? ["-X", bytesToHex(item.data)] : ["-w", text]),
    keychain,
  ];
  return args.map(quote).join(" ");
}

/** One argument for `security -i`'s command line: double-quoted, `\` and `"` escaped. */
export function quote(arg: string): string {
  return `"${arg.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The value from `find-generic-password -g` stderr: `password: "text"` or `password: 0xHEX ...`. */
export function parsePassword(stderr: string): Uint8Array {
  const line = stderr.split("\n").find((l) => l.startsWith("password: "));
  if (line === undefined) throw new KeyringError("security printed no password");
  return parseValue(line.slice("password: ".length));
}

/** A value as security's print_buffer writes it: `"text"`, `0xHEX  "text"`, `0xHEX `, or nothing. */
function parseValue(printed: string): Uint8Array {
  const hex = /^0x([0-9A-Fa-f]*)/.exec(printed);
  if (hex) return hexToBytes(hex[1]);
  if (printed.length >= 2 && printed.startsWith('"') && printed.endsWith('"')) {
    // Only printable ASCII other than `\` is printed this way, so the text is the bytes.
    return new TextEncoder().encode(printed.slice(1, -1));
  }
  return new Uint8Array(); // empty value, or <NULL>
}

/** An attribute's value from security's attribute listing (`    "acct"<blob>="value"`). */
function attributeValue(text: string, prefix: string): string | undefined {
  for (const line of text.split("\n")) {
    const t = line.trimStart();
    if (!t.startsWith(prefix)) continue;
    return new TextDecoder().decode(parseValue(t.slice(prefix.length)));
  }
  return undefined;
}

/** The data as text when it survives `-w`: valid UTF-8 without NUL or line breaks. */
function lineSafeText(data: Uint8Array): string | undefined {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data);
  } catch {
    return undefined;
  }
  return /[\0\r\n]/.test(text) ? undefined : text;
}

function checkText(what: string, value: string): void {
  if (what === "key" && value === "") {
    throw new KeyringError("an empty key cannot be stored in the keychain");
  }
  if (/[\r\n\0]/.test(value)) {
    throw new KeyringError(`${what} ${JSON.stringify(value)} has a line break or NUL`);
  }
}
