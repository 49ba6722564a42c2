/**
 * A small INI parser with the AWS SDK/botocore rules for `~/.aws/config`: `[section]` headers,
 * `key = value` split at the first `=`, case-insensitive keys, `#`/`;` comments (inline only
 * after whitespace, so URLs keep their `#`), nested sub-sections and continuation lines. As
 * aws-vault's go-ini does, one pair of surrounding quotes is removed from a value, and `"""` or
 * backtick quotes may span lines (readValue has the rules). Every value remembers its (first)
 * line so `aws-vault profile` can say where it came from.
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
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index];
    const lineNo = index + firstLine;
    const fail = (why: string): never => {
      throw new UserError(`${file}:${lineNo}: ${why}`);
    };
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) continue;
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
      continue;
    }

    if (!current) fail('"key = value" line before any [section]');
    const section = current as IniSection;
    const eq = trimmed.indexOf("=");

    if (indented && eq < 0 && continuedKey !== undefined) {
      // botocore: an indented line continues the previous value.
      const previous = section.values.get(continuedKey)!;
      const more = stripInlineComment(trimmed);
      previous.value = previous.value === "" ? more : `${previous.value}\n${more}`;
      continue;
    }
    if (eq <= 0) {
      // The line itself is not quoted: a malformed line may hold a pasted secret.
      fail(eq === 0 ? 'missing key before "="' : 'expected "key = value" or "[section]"');
    }
    const key = trimmed.slice(0, eq).trim().toLowerCase();
    const read = readValue(lines, index, raw.slice(raw.indexOf("=") + 1).trimStart(), {
      key,
      fail,
      lineOf: (i) => i + firstLine,
    });
    index = read.last;
    const value = read.value;

    if (indented && parentKey !== undefined) {
      const nested = `${parentKey}.${key}`;
      section.values.set(nested, { value, line: lineNo });
      continuedKey = value === "" ? undefined : nested;
      continue;
    }
    section.values.set(key, { value, line: lineNo });
    parentKey = value === "" ? key : undefined;
    continuedKey = value === "" ? undefined : key;
  }
  return { sections };
}

/** What readValue needs to name a value in an error. */
interface ValueContext {
  key: string;
  /** Throws the UserError for the value's own line. */
  fail: (why: string) => never;
  /** The file line number of a line index. */
  lineOf: (index: number) => number;
}

/**
 * The value of `key = <text>` on line `index` (text left-trimmed, right as written), and the
 * index of the last line it takes. go-ini's rules (gopkg.in/ini.v1 parser.go, readValue, as
 * aws-vault loads it: AllowNestedValues, InsensitiveKeys, nothing else), each checked against
 * botocore's reading of the same file (configparser), since the AWS CLI reads it too:
 * - `"""` or a backtick opens a quoted value: closed on the same line, the value is what lies
 *   between the opening and the last closing quote (no comment is cut from it); else it runs
 *   over the following lines, verbatim, up to the last closing quote of the first line that has
 *   one. Unclosed at the end of the file is an error (go-ini's too). A line the AWS CLI would
 *   read as a `[section]` header (unindented) also ends it with an error: go-ini would take the
 *   section into the value while the AWS CLI reads it as a section.
 * - A trailing `\` joins the next line (trimmed, without the backslash) when that line is
 *   indented, which the AWS CLI also reads as a continuation. Before an unindented or blank line
 *   the backslash is kept as written: go-ini would swallow that line (a `key = value`, even a
 *   header) into the value, where the AWS CLI reads it as its own line.
 * - Otherwise: an inline comment after whitespace is cut, then one pair of surrounding quotes.
 */
function readValue(
  lines: string[],
  index: number,
  text: string,
  context: ValueContext,
): { value: string; last: number } {
  const opener = text.startsWith('"""') ? '"""' : text.startsWith("`") ? "`" : undefined;
  if (opener !== undefined) {
    const rest = text.slice(opener.length);
    const close = rest.lastIndexOf(opener);
    if (close >= 0) return { value: rest.slice(0, close), last: index };
    const parts = [rest];
    for (let i = index + 1; i < lines.length; i++) {
      const line = lines[i];
      const end = line.lastIndexOf(opener);
      if (end >= 0) {
        parts.push(line.slice(0, end));
        return { value: parts.join("\n"), last: i };
      }
      if (/^\[.+\]/.test(line.trimEnd())) {
        context.fail(
          `the ${opener} value of "${context.key}" is not closed before the section header on line ${
            context.lineOf(i)
          }`,
        );
      }
      parts.push(line);
    }
    context.fail(`the ${opener} value of "${context.key}" is never closed (missing ${opener})`);
  }
  let value = text.trim();
  let last = index;
  while (value.endsWith("\\") && isContinuation(lines[last + 1])) {
    value = value.slice(0, -1) + lines[last + 1].trim();
    last++;
  }
  if (last > index) return { value, last };
  return { value: unquote(stripInlineComment(value)), last };
}

/** An indented line with text: a continuation for botocore and go-ini alike. */
function isContinuation(line: string | undefined): boolean {
  return line !== undefined && /^[ \t]/.test(line) && line.trim() !== "";
}

/** Cuts an inline comment: `#` or `;` preceded by whitespace (so `https://x/#/` survives). */
function stripInlineComment(value: string): string {
  const match = /[ \t][#;]/.exec(value);
  return match ? value.slice(0, match.index).trimEnd() : value;
}

/**
 * go-ini's surrounding quotes: `"x"` and `'x'` give x when that quote character occurs exactly
 * twice (so `"a"b"` and `'it's'` stay as written). (`"""` and backticks: readValue.)
 */
function unquote(value: string): string {
  for (const q of ['"', "'"]) {
    if (value.length < 2 || value[0] !== q || value[value.length - 1] !== q) continue;
    if (value.split(q).length === 3) return value.slice(1, -1);
  }
  return value;
}

/** Quotes a config line for an error message, shortened so one bad line stays one line. */
function quote(text: string): string {
  const short = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return JSON.stringify(short);
}
