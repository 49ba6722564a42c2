/**
 * The `op` backend: 1Password through its command-line tool `op` (1Password CLI 2), storing items
 * the way ByteNess aws-vault's 1Password backends do, so either program reads the other's items.
 * Secrets travel on stdin only (item JSON templates); the service-account token only in op's
 * environment; neither is ever in argv, a log line or an error message.
 *
 * Facts relied on, and where they come from:
 * - ByteNess keyring, opcommon.go and opstandard.go (github.com/ByteNess/keyring): one item per key
 *   in the vault given by ID (aws-vault's `--op-vault-id`, else `OP_VAULT_ID`); title
 *   `<prefix>: <key>`; one tag; category API Credential; exactly one concealed field, titled
 *   `keyring`, holding aws-vault's Item JSON; a listing keeps active items with that tag and
 *   category whose concealed fields are exactly that one; two items with one title are an error.
 *   An empty prefix or tag falls back to `keyring`; aws-vault's flags default both to `aws-vault`.
 * - developer.1password.com/docs/cli/reference/management-commands/item: `op item create -`
 *   reads an item JSON template from stdin ("-" as the first argument; assignment statements in
 *   argv are visible to other processes, so sensitive values go in a template); `--vault`,
 *   `--tags` (comma-separated); `op item edit <item>` takes the edited item JSON as piped input;
 *   `op item get <item> --vault` (service accounts must name the vault); `op item list --vault
 *   --tags --categories` excludes the Archive unless OP_INCLUDE_ARCHIVE is set, and `--tags t`
 *   also returns items tagged `t/<sub>`; `op item delete <item> --vault`.
 * - developer.1password.com/docs/cli/item-template-json: template keys `title`, `category`,
 *   `fields` of `{id, type, label, value}`; the template has the shape of `op item get`'s JSON.
 * - developer.1password.com/docs/cli/item-fields: custom field type `CONCEALED`.
 * - developer.1password.com/docs/service-accounts/use-with-1password-cli: `op` (2.18.0 or
 *   later) authenticates as a service account when OP_SERVICE_ACCOUNT_TOKEN is set, and
 *   OP_CONNECT_HOST/OP_CONNECT_TOKEN take precedence over it.
 * - developer.1password.com/docs/cli/environment-variables: OP_FORMAT, OP_INCLUDE_ARCHIVE.
 * - Error output, as seen in op transcripts quoted in public issue threads (not in the reference
 *   pages): exit code 1 and `[ERROR] <date> <time> <message>` on stderr, e.g. `"X" isn't a vault
 *   in this account.`, `"X" isn't an item.`, `You are not currently signed in.`
 *
 * Without a token, `op` uses its own sign-in (desktop app integration or `op signin`); ByteNess
 * prompts for a service-account token instead. Listing (`keys()`) is one `op item list`; reading
 * one item adds one `op item get` (ByteNess fetches every item on each listing).
 */
import { decodeItemJson, encodeItemJson } from "./item_json.ts";
import type { Item, ItemMetadata, Keyring } from "./keyring.ts";
import { KeyringError } from "./keyring.ts";
import { runTool, stdoutText, type ToolResult } from "./exec_util.ts";
import { oneLine } from "../lib/encoding.ts";

/** ByteNess keyring's fallback for an empty prefix, tag and field title. */
export const OP_KEYRING_DEFAULT = "keyring";
/** The concealed field holding the Item JSON. */
export const OP_FIELD = "keyring";
/** The item category, as `op`'s JSON spells it. */
export const OP_CATEGORY = "API_CREDENTIAL";
const TITLE_SEPARATOR = ": ";
/** A control character: 1Password titles and op's argv cannot keep them. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
/** What `op` is told never to inherit: other tokens, and settings that change its output. */
const WITHHELD = [
  "OP_SERVICE_ACCOUNT_TOKEN",
  "AWS_VAULT_OP_SERVICE_ACCOUNT_TOKEN",
  "AWS_VAULT_OP_CONNECT_TOKEN",
  "OP_FORMAT",
  "OP_INCLUDE_ARCHIVE",
];

/** How to reach 1Password. */
export interface OpOptions {
  /** The vault (ID, or a name `op` resolves). */
  vaultId: string;
  /** Title prefix; default `aws-vault` (empty: `keyring`, as ByteNess). */
  titlePrefix?: string;
  /** Tag of our items; default `aws-vault` (empty: `keyring`). */
  tag?: string;
  /** The `op` executable. */
  cmd?: string;
  /** A service-account token, put in op's environment only. */
  token?: string;
  /** The environment `op` runs with (ours); tokens and output settings are replaced. */
  env: Record<string, string>;
  /** Deadline of each `op` run (default 15 s, aws-vault's `--op-timeout`). */
  timeoutMs?: number;
  /** Most output accepted from one `op` run (default 64 MiB). */
  maxOutputBytes?: number;
  /** Runs a write under a cross-process lock (two writers must not both create one title). */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** One row of `op item list --format json` that may be ours. */
interface Overview {
  id: string;
  title: string;
  updatedAt?: Date;
}

/** A field of `op item get --format json`. */
interface OpField {
  type?: unknown;
  label?: unknown;
  value?: unknown;
}

/** Opens an op keyring. Nothing runs until the first operation. */
export function openOpKeyring(options: OpOptions): Keyring {
  return new OpKeyring(options);
}

class OpKeyring implements Keyring {
  readonly name = "op";
  readonly #vault: string;
  readonly #prefix: string;
  readonly #tag: string;
  readonly #cmd: string;
  readonly #token: string | undefined;
  readonly #env: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #maxOutput: number;
  readonly #lock: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Writes of this process, one at a time (the lock covers other processes). */
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: OpOptions) {
    this.#vault = options.vaultId;
    this.#prefix = (options.titlePrefix ?? "aws-vault") || OP_KEYRING_DEFAULT;
    this.#tag = (options.tag ?? "aws-vault") || OP_KEYRING_DEFAULT;
    this.#cmd = options.cmd ?? "op";
    this.#token = options.token || undefined;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxOutput = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    this.#lock = options.lock ?? ((fn) => fn());
    if (this.#vault === "" || CONTROL.test(this.#vault)) {
      throw new KeyringError("the op backend needs a 1Password vault ID (--op-vault-id)");
    }
    if (this.#tag.includes(",") || CONTROL.test(this.#tag)) {
      throw new KeyringError(
        `1Password tag ${JSON.stringify(this.#tag)} has a comma or a control character`,
      );
    }
    if (CONTROL.test(this.#prefix)) {
      throw new KeyringError("the 1Password item title prefix has a control character");
    }
    const env = { ...options.env };
    for (const name of WITHHELD) delete env[name];
    if (this.#token) {
      // A Connect server set in the environment would win over the token we were given.
      delete env.OP_CONNECT_HOST;
      delete env.OP_CONNECT_TOKEN;
      env.OP_SERVICE_ACCOUNT_TOKEN = this.#token;
    }
    this.#env = env;
  }

  async get(key: string): Promise<Item | undefined> {
    checkKey(key);
    const found = await this.#find(key);
    return found?.item;
  }

  async getMetadata(key: string): Promise<ItemMetadata | undefined> {
    checkKey(key);
    const match = this.#single(key, await this.#list());
    return match ? { modificationTime: match.updatedAt } : undefined;
  }

  async has(key: string): Promise<boolean> {
    checkKey(key);
    return (await this.#list()).some((o) => o.title === this.#title(key));
  }

  checkKey(key: string): void {
    checkKey(key);
  }

  set(item: Item): Promise<void> {
    checkKey(item.key);
    return this.#write(async () => {
      const title = this.#title(item.key);
      const json = encodeItemJson(item);
      const match = this.#single(item.key, await this.#list());
      if (match) {
        const full = await this.#fetch(match.id);
        const field = ourField(full);
        if (!field) throw notOurs(title);
        field.value = json;
        await this.#op(
          ["item", "edit", match.id, `--vault=${this.#vault}`, "--format=json"],
          `cannot store '${item.key}' in 1Password`,
          JSON.stringify(full),
        );
        return;
      }
      const template = {
        title,
        category: OP_CATEGORY,
        fields: [{ id: OP_FIELD, type: "CONCEALED", label: OP_FIELD, value: json }],
      };
      await this.#op(
        ["item", "create", "-", `--vault=${this.#vault}`, `--tags=${this.#tag}`, "--format=json"],
        `cannot store '${item.key}' in 1Password`,
        JSON.stringify(template),
      );
    });
  }

  remove(key: string): Promise<boolean> {
    checkKey(key);
    return this.#write(async () => {
      const title = this.#title(key);
      let removed = false;
      for (const o of (await this.#list()).filter((o) => o.title === title)) {
        // An item under our title and tag but without our field is the user's: left alone.
        if (!ourField(await this.#fetch(o.id))) continue;
        await this.#op(
          ["item", "delete", o.id, `--vault=${this.#vault}`],
          `cannot remove '${key}' from 1Password`,
        );
        removed = true;
      }
      return removed;
    });
  }

  async keys(): Promise<string[]> {
    const titles = (await this.#list()).map((o) => o.title);
    const duplicate = titles.find((t, i) => titles.indexOf(t) !== i);
    if (duplicate !== undefined) throw duplicateTitle(this.#vault, duplicate);
    return titles.map((t) => t.slice(this.#prefix.length + TITLE_SEPARATOR.length));
  }

  #title(key: string): string {
    return `${this.#prefix}${TITLE_SEPARATOR}${key}`;
  }

  #write<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(() => this.#lock(fn));
    this.#writes = run.catch(() => {});
    return run;
  }

  /** The one listed item titled for this key; a KeyringError when there are several. */
  #single(key: string, listed: Overview[]): Overview | undefined {
    const title = this.#title(key);
    const matches = listed.filter((o) => o.title === title);
    if (matches.length > 1) throw duplicateTitle(this.#vault, title);
    return matches[0];
  }

  async #find(key: string): Promise<{ item: Item } | undefined> {
    const match = this.#single(key, await this.#list());
    if (!match) return undefined;
    const field = ourField(await this.#fetch(match.id));
    if (!field) return undefined; // the user's item, not one of ours (ByteNess skips it too)
    const item = decodeItemJson(field.value as string, `1Password item '${match.title}'`);
    return { item: { ...item, key } };
  }

  /** Our items in the vault: our tag exactly, our category, our title prefix. */
  async #list(): Promise<Overview[]> {
    const text = await this.#op(
      [
        "item",
        "list",
        `--vault=${this.#vault}`,
        `--tags=${this.#tag}`,
        "--categories=API Credential",
        "--format=json",
      ],
      "cannot list the 1Password vault",
    );
    const rows = parseJson(text, "item list");
    if (!Array.isArray(rows)) throw garbage("item list");
    const out: Overview[] = [];
    const start = `${this.#prefix}${TITLE_SEPARATOR}`;
    for (const row of rows) {
      if (typeof row !== "object" || row === null) throw garbage("item list");
      const { id, title, tags, category, updated_at: updated } = row as Record<string, unknown>;
      if (typeof title !== "string" || !title.startsWith(start)) continue;
      if (category !== OP_CATEGORY) continue;
      // `--tags t` also lists `t/<sub>`: only the exact tag is ours.
      if (!Array.isArray(tags) || !tags.includes(this.#tag)) continue;
      // IDs go into argv: letters and digits only, never something that reads as a flag.
      if (typeof id !== "string" || !/^[A-Za-z0-9]{1,64}$/.test(id)) throw garbage("item list");
      const date = typeof updated === "string" ? new Date(updated) : undefined;
      out.push({ id, title, updatedAt: date && !isNaN(date.getTime()) ? date : undefined });
    }
    return out;
  }

  async #fetch(id: string): Promise<Record<string, unknown>> {
    const text = await this.#op(
      ["item", "get", id, `--vault=${this.#vault}`, "--reveal", "--format=json"],
      "cannot read a 1Password item",
    );
    const item = parseJson(text, "item get");
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw garbage("item get");
    }
    return item as Record<string, unknown>;
  }

  /** Runs op; its stdout, or a KeyringError with op's own message (token masked). */
  async #op(args: string[], what: string, stdin?: string): Promise<string> {
    const result = await runTool(this.#cmd, args, {
      baseEnv: this.#env,
      stdin,
      timeoutMs: this.#timeoutMs,
      maxOutputBytes: this.#maxOutput,
    });
    if (result.code !== 0) throw this.#failure(what, result);
    return stdoutText(result);
  }

  #failure(what: string, result: ToolResult): KeyringError {
    let stderr = result.stderr;
    // Masked before the cut to 300 characters: a cut token (they are ~900) would not match.
    if (this.#token) stderr = stderr.replaceAll(this.#token, "***");
    let message = oneLine(stderr.replace(/\[ERROR\] [\d/]+ [\d:]+ /g, ""), 300);
    if (message === "") message = `exit code ${result.code}`;
    if (/isn't a vault/i.test(message)) {
      return new KeyringError(
        `1Password vault '${this.#vault}' not found, or not readable with this sign-in (--op-vault-id): ${message}`,
      );
    }
    if (/not currently signed in|no active session|not signed in|sign in/i.test(message)) {
      return new KeyringError(
        `not signed in to 1Password: run 'op signin', or set OP_SERVICE_ACCOUNT_TOKEN (${message})`,
      );
    }
    if (/service account|token|unauthori[sz]ed|DecodeSACredentials/i.test(message)) {
      return new KeyringError(`1Password refused the service account token: ${message}`);
    }
    return new KeyringError(`${what}: ${this.#cmd}: ${message}`);
  }
}

/** The concealed `keyring` field holding Item JSON, when the item has exactly that one. */
function ourField(item: Record<string, unknown>): OpField | undefined {
  if (item.category !== OP_CATEGORY || !Array.isArray(item.fields)) return undefined;
  const fields = item.fields.filter((f): f is OpField => typeof f === "object" && f !== null);
  const ours = fields.filter((f) => f.type === "CONCEALED" && f.label === OP_FIELD);
  // Another concealed field with a value is someone's secret: the item is not ours.
  const others = fields.filter((f) =>
    f.type === "CONCEALED" && f.label !== OP_FIELD && f.value !== undefined && f.value !== ""
  );
  if (ours.length !== 1 || others.length > 0 || typeof ours[0].value !== "string") {
    return undefined;
  }
  return ours[0];
}

function checkKey(key: string): void {
  if (key === "") throw new KeyringError("an empty key cannot be stored in 1Password");
  if (CONTROL.test(key)) {
    throw new KeyringError(
      `key ${JSON.stringify(key)} has a control character, which a 1Password title cannot keep`,
    );
  }
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw garbage(what);
  }
}

/** op's output is never quoted: it may hold secrets. */
function garbage(what: string): KeyringError {
  return new KeyringError(`op printed something unexpected for '${what}' (not its JSON)`);
}

function duplicateTitle(vault: string, title: string): KeyringError {
  return new KeyringError(
    `1Password vault '${vault}' has several items titled ${
      JSON.stringify(title)
    }; keep one (aws-vault cannot tell them apart)`,
  );
}

function notOurs(title: string): KeyringError {
  return new KeyringError(
    `1Password item ${
      JSON.stringify(title)
    } is not an aws-vault item (no single concealed 'keyring' field): not overwritten`,
  );
}
