/**
 * The macOS `keychain` backend through `/usr/bin/security`, as aws-vault stores items: generic
 * passwords in `<name>.keychain`, service `aws-vault`, account = key, label and description
 * (kind) from the Item, value = Item.Data only. Writes go through `security -i` with the command
 * on stdin and the value hex-encoded (`-X`), so no secret is ever in argv.
 */
import type { Item, ItemMetadata, Keyring } from "./keyring.ts";
import { KeyringError, newItem } from "./keyring.ts";
import { runTool, runToolOk, stdoutText, toolFailure } from "./exec_util.ts";

/** The security tool. */
export const SECURITY_PATH = "/usr/bin/security";

/** aws-vault's service name for every item. */
export const KEYCHAIN_SERVICE = "aws-vault";

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

const NOT_FOUND = /could not be found|errSecItemNotFound|\(-25300\)/;

class KeychainKeyring implements Keyring {
  readonly name = "keychain";
  readonly #cmd: string;
  readonly #keychain: string;

  constructor(options: KeychainOptions) {
    this.#cmd = options.securityPath ?? SECURITY_PATH;
    this.#keychain = `${options.keychain}.keychain`;
  }

  async get(key: string): Promise<Item | undefined> {
    checkKey(key);
    const r = await runTool(this.#cmd, [
      "find-generic-password",
      "-s",
      KEYCHAIN_SERVICE,
      "-a",
      key,
      "-g",
      this.#keychain,
    ]);
    if (r.code !== 0) {
      if (NOT_FOUND.test(r.stderr)) return undefined;
      throw toolFailure("security", `cannot read '${key}' from the keychain`, r);
    }
    const attrs = stdoutText(r);
    return newItem({
      key,
      data: parsePassword(r.stderr),
      label: attrField(attrs, "0x00000007") ?? "",
      description: attrField(attrs, '"desc"') ?? "",
    });
  }

  async getMetadata(key: string): Promise<ItemMetadata | undefined> {
    return await this.get(key) === undefined ? undefined : {};
  }

  async set(item: Item): Promise<void> {
    checkKey(item.key);
    const hex = Array.from(item.data, (b) => b.toString(16).padStart(2, "0")).join("");
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
      ...(item.keychainNotTrustApplication ? [] : ["-A"]),
      "-X",
      hex,
      this.#keychain,
    ];
    await this.#ensureKeychain();
    await runToolOk(this.#cmd, ["-i"], `cannot store '${item.key}' in the keychain`, {
      stdin: `${args.map(quote).join(" ")}\n`,
    });
  }

  async remove(key: string): Promise<boolean> {
    checkKey(key);
    const r = await runTool(this.#cmd, [
      "delete-generic-password",
      "-s",
      KEYCHAIN_SERVICE,
      "-a",
      key,
      this.#keychain,
    ]);
    if (r.code === 0) return true;
    if (NOT_FOUND.test(r.stderr)) return false;
    throw toolFailure("security", `cannot remove '${key}' from the keychain`, r);
  }

  async keys(): Promise<string[]> {
    const r = await runTool(this.#cmd, ["dump-keychain", this.#keychain]);
    if (r.code !== 0) {
      if (NOT_FOUND.test(r.stderr)) return []; // no keychain yet
      throw toolFailure("security", "cannot list the keychain", r);
    }
    const keys: string[] = [];
    for (const block of stdoutText(r).split(/^(?=keychain: )/m)) {
      if (attrField(block, '"svce"') !== KEYCHAIN_SERVICE) continue;
      const account = attrField(block, '"acct"');
      if (account !== undefined) keys.push(account);
    }
    return keys;
  }

  async #ensureKeychain(): Promise<void> {
    const r = await runTool(this.#cmd, ["show-keychain-info", this.#keychain]);
    if (r.code === 0) return;
    // security asks for the new keychain's password itself (on the terminal or in a dialog).
    await runToolOk(this.#cmd, ["create-keychain", this.#keychain], "cannot create the keychain");
  }
}

/** One argument for `security -i`'s command line: double-quoted, `\` and `"` escaped. */
export function quote(arg: string): string {
  return `"${arg.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The value from `find-generic-password -g` stderr: `password: "text"` or `password: 0xHEX ...`. */
export function parsePassword(stderr: string): Uint8Array {
  const line = stderr.split("\n").find((l) => l.startsWith("password: "));
  if (line === undefined) throw new KeyringError("security printed no password");
  const value = line.slice("password: ".length);
  const hex = /^0x([0-9A-Fa-f]*)/.exec(value);
  if (hex) return Uint8Array.from(hex[1].match(/../g) ?? [], (h) => parseInt(h, 16));
  if (value.startsWith('"') && value.endsWith('"')) {
    return new TextEncoder().encode(value.slice(1, -1));
  }
  return new Uint8Array();
}

/** An attribute value from security's attribute listing (`    "acct"<blob>="value"`). */
function attrField(text: string, name: string): string | undefined {
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t.startsWith(`${name}<blob>=`)) continue;
    const v = t.slice(`${name}<blob>=`.length);
    if (v === "<NULL>") return "";
    if (v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1);
    const hex = /^0x([0-9A-Fa-f]*)/.exec(v);
    if (hex) {
      return new TextDecoder().decode(
        Uint8Array.from(hex[1].match(/../g) ?? [], (h) => parseInt(h, 16)),
      );
    }
  }
  return undefined;
}

function checkKey(key: string): void {
  if (key === "") throw new KeyringError("an empty key cannot be stored in the keychain");
  if (/[\n\0]/.test(key)) {
    throw new KeyringError(`key ${JSON.stringify(key)} has a line break or NUL`);
  }
}
