/**
 * A small INI parser with the AWS SDK/botocore rules for `~/.aws/config`: `[section]` headers,
 * `key = value` split at the first `=`, case-insensitive keys, `#`/`;` comments (inline only
 * after whitespace, so URLs keep their `#`), nested sub-sections and continuation lines. As
 * aws-vault's go-ini does, one pair of surrounding quotes is removed from a value. Every value
 * remembers its line so `aws-vault profile` can say where it came from.
 */
import { UserError } from "../errors.ts";

/** One value and the line it was read from (1-based). */
export interface IniValue {
  value: string;
  line: number;
}

/** One section: its header text (trimmed, case kept) and its keys (lowercased). */
export interface IniSection {
  /** Text between the brackets, trimmed, e.g. `profile admin`. */
  name: string;
  /** Line of the (first) header. */
  line: number;
  /** Keys in file order; nested sub-section keys are `parent.child`. */
  values: Map<string, IniValue>;
}

/** A parsed file: sections in file order, duplicates merged (later keys win). */
export interface IniFile {
  sections: IniSection[];
}

/** Options for parseIni. */
export interface ParseIniOptions {
  /** Line number of the text's first line (default 1): a section cut out of a file keeps its lines. */
  firstLine?: number;
}

/**
 * Parses INI text. `file` names the source in errors. Throws UserError naming `<file>:<line>`
 * for a line that is neither blank, a comment, a header nor `key = value`.
 */
export function parseIni(text: string, file: string, options: ParseIniOptions = {}): IniFile {
  const firstLine = options.firstLine ?? 1;
  const sections: IniSection[] = [];
  const byName = new Map<string, IniSection>();
  let current: IniSection | undefined;
  /** The key of a `key =` line with an empty value: indented lines below it are its children. */
  let parentKey: string | undefined;
  /** The key whose value indented lines without `=` continue. */
  let continuedKey: string | undefined;

  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, index) => {
    const lineNo = index + firstLine;
    const fail = (why: string): never => {
      throw new UserError(`${file}:${lineNo}: ${why}`);
    };
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) return;
    const indented = /^[ \t]/.test(raw);

    if (trimmed.startsWith("[")) {
      const close = trimmed.indexOf("]");
      if (close < 0) fail(`section header is missing "]": ${quote(trimmed)}`);
      const rest = trimmed.slice(close + 1).trim();
      if (rest !== "" && !rest.startsWith("#") && !rest.startsWith(";")) {
        fail(`unexpected text after section header: ${quote(trimmed)}`);
      }
      const name = trimmed.slice(1, close).trim();
      if (name === "") fail("empty section name");
      current = byName.get(name);
      if (!current) {
        current = { name, line: lineNo, values: new Map() };
        byName.set(name, current);
        sections.push(current);
      }
      parentKey = undefined;
      continuedKey = undefined;
      return;
    }

    if (!current) fail('"key = value" line before any [section]');
    const section = current as IniSection;
    const eq = trimmed.indexOf("=");

    if (indented && eq < 0 && continuedKey !== undefined) {
      // botocore: an indented line continues the previous value.
      const previous = section.values.get(continuedKey)!;
      const more = stripInlineComment(trimmed);
      previous.value = previous.value === "" ? more : `${previous.value}\n${more}`;
      return;
    }
    if (eq <= 0) {
      // The line itself is not quoted: a malformed line may hold a pasted secret.
      fail(eq === 0 ? 'missing key before "="' : 'expected "key = value" or "[section]"');
    }
    const key = trimmed.slice(0, eq).trim().toLowerCase();
    const value = unquote(stripInlineComment(trimmed.slice(eq + 1).trim()));

    if (indented && parentKey !== undefined) {
      const nested = `${parentKey}.${key}`;
      section.values.set(nested, { value, line: lineNo });
      continuedKey = value === "" ? undefined : nested;
      return;
    }
    section.values.set(key, { value, line: lineNo });
    parentKey = value === "" ? key : undefined;
    continuedKey = value === "" ? undefined : key;
  });
  return { sections };
}

/** Cuts an inline comment: `#` or `;` preceded by whitespace (so `https://x/#/` survives). */
function stripInlineComment(value: string): string {
  const match = /[ \t][#;]/.exec(value);
  return match ? value.slice(0, match.index).trimEnd() : value;
}

/**
 * go-ini's quote rules: `"""x"""` and `` `x` `` give x; `"x"` and `'x'` give x when that quote
 * character occurs exactly twice (so `"a"b"` and `'it's'` stay as written).
 */
function unquote(value: string): string {
  if (value.length >= 6 && value.startsWith('"""') && value.endsWith('"""')) {
    return value.slice(3, -3);
  }
  for (const q of ["`", '"', "'"]) {
    if (value.length < 2 || value[0] !== q || value[value.length - 1] !== q) continue;
    if (q === "`" || value.split(q).length === 3) return value.slice(1, -1);
  }
  return value;
}

/** Quotes a config line for an error message, shortened so one bad line stays one line. */
function quote(text: string): string {
  const short = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return JSON.stringify(short);
}
