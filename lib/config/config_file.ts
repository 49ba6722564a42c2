/**
 * The AWS config file (`AWS_CONFIG_FILE` or `~/.aws/config`) as aws-vault sees it: `[default]`,
 * `[profile NAME]` and `[sso-session NAME]` sections; any other section is ignored (so
 * `[profile default]` and `[NAME]` are not profiles, as in aws-vault).
 */
import { utf8Text } from "../encoding.ts";
import { UserError } from "../errors.ts";
import { type Logger, SILENT_LOGGER } from "../logger.ts";
import { expandHome, type Runtime } from "../runtime.ts";
import { type IniSection, parseIni } from "./ini.ts";
import { isQuiet, regularFileStamp } from "../fs/stamp.ts";
import type { SectionRange } from "./section_table.ts";

/** What configFromTable uses of the section tables' module (loaded only where tables are used). */
type SectionTables = Pick<
  typeof import("./section_table.ts"),
  "openSectionTable" | "readSectionBytes"
>;

/** A loaded config file. */
export interface ConfigFile {
  path: string;
  /** Profile names in file order: "default" (only if [default] is non-empty) and each [profile x]. */
  profileNames(): string[];
  hasProfile(name: string): boolean;
  /** Raw keys (lowercased) of [profile name] / [default]; undefined if absent. */
  profileSection(name: string): Record<string, string> | undefined;
  ssoSessionSection(name: string): Record<string, string> | undefined;
  /**
   * The line of a key in a section (or of the section header without `key`), for origins.
   * `header` is the text between the brackets: `default`, `profile x`, `sso-session x`.
   * Optional so hand-built ConfigFiles (in tests) need not provide it.
   */
  lineOf?(header: string, key?: string): number | undefined;
  /**
   * The stamp (section_table.ts) the file had while all that was used of it was read: null when
   * there was no file, undefined when unknown (it changed during a read, or was read again
   * whole). lib/replay records a decision only while the file still has it.
   */
  readStamp?(): string | null | undefined;
}

/** The header text of a profile's section: `default` or `profile NAME`. */
export function profileHeader(name: string): string {
  return name === "default" ? "default" : `profile ${name}`;
}

/** The header text of an sso-session section. */
export function ssoSessionHeader(name: string): string {
  return `sso-session ${name}`;
}

/** `AWS_CONFIG_FILE`, else `<home>/.aws/config`; a leading `~/` is expanded. */
export function configFilePath(runtime: Runtime): string {
  const fromEnv = runtime.env.get("AWS_CONFIG_FILE");
  if (fromEnv) return expandHome(fromEnv, () => runtime.homeDir());
  return `${runtime.homeDir()}/.aws/config`;
}

/** Options for loadConfig. */
export interface LoadConfigOptions {
  /**
   * Parse every section at once (`list`, completion). Default: index the file and parse only the
   * sections a command asks for, so resolving one profile does not grow with the file.
   */
  whole?: boolean;
}

/** The largest config file we read: a bound, far beyond any real config. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/**
 * Reads and parses the config file; a missing file is an empty config (and is not created).
 * Resolving profiles (not `whole`, not `--debug`) goes through the config's section table
 * (lib/config/section_table.ts) when one holds, and writes one after reading a plain file whole.
 */
export async function loadConfig(
  runtime: Runtime,
  log: Logger = SILENT_LOGGER,
  options: LoadConfigOptions = {},
): Promise<ConfigFile> {
  const path = configFilePath(runtime);
  const parseOptions: ParseConfigOptions = log.debugEnabled
    ? { onIgnoredSection: (name) => log.debug(`${path}: ignoring unrecognised section [${name}]`) }
    : {};
  if (options.whole) return parseConfig(readConfigText(path, log), path, parseOptions);
  // Only here, not for a whole parse (list, completion): their start loads none of it.
  const tables = await import("./section_table.ts");
  const tablePath = log.debugEnabled ? undefined : tables.sectionTablePath(runtime, path);
  const tabled = tablePath && configFromTable(path, tablePath, tables);
  if (tabled) return tabled;

  const read = readConfigFile(path);
  if (read === undefined) log.debug(`config file ${path} does not exist: using an empty config`);
  const text = read ? decodeConfigText(read.bytes, path) : "";
  const { source, plain } = indexSource(text, path, parseOptions);
  if (tablePath && plain && read?.stamp && isQuiet(read.info, runtime.now())) {
    const body = text.replace(/^\uFEFF/, "");
    // ASCII only: there byte and character offsets agree.
    if (read.bytes.length === body.length && body.indexOf("\uFFFD") < 0) {
      await tables.writeSectionTable(
        tablePath,
        { path, stamp: read.stamp },
        sectionRanges(body),
        runtime.now(),
      ).catch((err) => log.debug(`cannot write ${tablePath}: ${(err as Error).message}`));
    }
  }
  return configOf(path, source, () => read === undefined ? null : read.stamp);
}

/** The config's text read whole (empty when it does not exist). */
function readConfigText(path: string, log: Logger = SILENT_LOGGER): string {
  const read = readConfigFile(path);
  if (read === undefined) {
    log.debug(`config file ${path} does not exist: using an empty config`);
    return "";
  }
  return decodeConfigText(read.bytes, path);
}

/** The indexed sections of the config as it is now, read whole (the table's fallback). */
function indexedSource(path: string): SectionSource {
  return indexSource(readConfigText(path), path, {}).source;
}

/**
 * The bytes of a config file, undefined when it does not exist. Only a regular file is read
 * (`/dev/null` counts as empty): a FIFO or a device would block or never end.
 */
export function readConfigBytes(path: string): Promise<Uint8Array | undefined> {
  try {
    return Promise.resolve(readConfigFile(path)?.bytes);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** What readConfigFile read: the bytes, the file's stat, and its stamp if it held still. */
interface ConfigRead {
  bytes: Uint8Array;
  info: Deno.FileInfo;
  /** The stamp (section_table.ts) the file had before and after the read; else undefined. */
  stamp?: string;
}

/** What was read, with the stamp when the file held still (same stamp and size around the read). */
function configRead(bytes: Uint8Array, before: Deno.FileInfo, after: Deno.FileInfo): ConfigRead {
  const stamp = regularFileStamp(before);
  const held = stamp !== undefined && stamp === regularFileStamp(after) &&
    bytes.length === after.size;
  return { bytes, info: after, ...(held ? { stamp } : {}) };
}

function tooLarge(path: string): UserError {
  return new UserError(
    `cannot read config file ${path}: it is larger than ${MAX_CONFIG_BYTES} bytes`,
  );
}

/**
 * readConfigBytes with what the section table needs. Synchronous: a handful of calls on the
 * path of every command, which cost microseconds as sync calls and a thread hand-off each as
 * async ones.
 */
function readConfigFile(path: string): ConfigRead | undefined {
  try {
    const info = Deno.statSync(path);
    if (info.isDirectory) throw new UserError(`cannot read config file ${path}: it is a directory`);
    if (!info.isFile) {
      if (info.isCharDevice && Deno.realPathSync(path) === "/dev/null") {
        return { bytes: new Uint8Array(), info };
      }
      throw new UserError(
        `cannot read config file ${path}: it is not a regular file (a device, FIFO or socket)`,
      );
    }
    if (info.size > MAX_CONFIG_BYTES) throw tooLarge(path);
    if (info.size > 0) {
      // A file that tells its size (every config does) is read in one call between two stats:
      // 3 calls instead of 7, each cold on a cache hit. (Size 0 may be a pseudo file: below.)
      const bytes = Deno.readFileSync(path);
      if (bytes.length > MAX_CONFIG_BYTES) throw tooLarge(path);
      return configRead(bytes, info, Deno.statSync(path));
    }
    const file = Deno.openSync(path, { read: true });
    try {
      const before = file.statSync();
      // Read to the end (the file may have grown since stat), within the bound.
      let buf = new Uint8Array(before.size + 1);
      let total = 0;
      for (;;) {
        if (total === buf.length) {
          if (total > MAX_CONFIG_BYTES) throw tooLarge(path);
          const bigger = new Uint8Array(total * 2);
          bigger.set(buf);
          buf = bigger;
        }
        const got = file.readSync(buf.subarray(total));
        if (got === null || got === 0) break;
        total += got;
      }
      return configRead(buf.subarray(0, total), before, file.statSync());
    } finally {
      file.close();
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (err instanceof Deno.errors.NotFound) return undefined;
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new UserError(`cannot read config file ${path}: permission denied`);
    }
    throw new UserError(`cannot read config file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Config text from its bytes. Bytes that are not UTF-8 read as U+FFFD (an edit keeps the bytes
 * themselves); a UTF-16 file (a BOM, or NUL bytes) is refused with what it is.
 */
export function decodeConfigText(bytes: Uint8Array, path: string): string {
  const bom16 = bytes.length >= 2 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
  if (bom16 || bytes.subarray(0, 4096).includes(0)) {
    throw new UserError(
      `config file ${path} is UTF-16 (or holds NUL bytes); AWS tools read it as UTF-8: convert it, e.g. with iconv -f UTF-16 -t UTF-8`,
    );
  }
  return utf8Text(bytes);
}

/** Options for parseConfig and indexConfig. */
export interface ParseConfigOptions {
  /** Called with each section aws-vault ignores (neither default, profile nor sso-session). */
  onIgnoredSection?: (name: string) => void;
}

/** Parses config text; `path` names the file in errors and origins. */
export function parseConfig(
  text: string,
  path: string,
  options: ParseConfigOptions = {},
): ConfigFile {
  return configOf(path, parsedSource(text, path, options));
}

/** The sections of a full parse. */
function parsedSource(text: string, path: string, options: ParseConfigOptions): SectionSource {
  const sections = new Map<string, IniSection>();
  for (const section of parseIni(text, path).sections) {
    const header = normalizeHeader(section.name);
    if (header === undefined) {
      options.onIgnoredSection?.(section.name);
      continue;
    }
    mergeInto(sections, header, section);
  }
  return {
    headers: () => [...sections.keys()],
    section: (header) => sections.get(header),
  };
}

/** `[profile  x]` and `[profile x]` are one section: merge, later keys win, first line kept. */
function mergeInto(sections: Map<string, IniSection>, header: string, section: IniSection): void {
  const existing = sections.get(header);
  if (existing) {
    for (const [k, v] of section.values) existing.values.set(k, v);
  } else {
    sections.set(header, { ...section, name: header, values: new Map(section.values) });
  }
}

/** How a ConfigFile reaches its sections (normalized headers). */
interface SectionSource {
  /** Every normalized header, in file order. */
  headers(): string[];
  section(header: string): IniSection | undefined;
}

function configOf(
  path: string,
  source: SectionSource,
  readStamp?: () => string | null | undefined,
): ConfigFile {
  const raw = (header: string): Record<string, string> | undefined => {
    const section = source.section(header);
    if (!section) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of section.values) out[k] = v.value;
    return out;
  };
  return {
    path,
    ...(readStamp ? { readStamp } : {}),
    profileNames: () => {
      const names: string[] = [];
      for (const header of source.headers()) {
        if (header === "default") {
          if ((source.section(header)?.values.size ?? 0) > 0) names.push("default");
        } else if (header.startsWith("profile ")) {
          names.push(header.slice("profile ".length));
        }
      }
      return names;
    },
    hasProfile: (name) => source.section(profileHeader(name)) !== undefined,
    profileSection: (name) => raw(profileHeader(name)),
    ssoSessionSection: (name) => raw(ssoSessionHeader(name)),
    lineOf: (header, key) => {
      const section = source.section(header);
      if (!section) return undefined;
      return key === undefined ? section.line : section.values.get(key)?.line;
    },
  };
}

/**
 * A line the AWS-rules parser takes as it is, whatever precedes it: blank, a comment, a
 * `[header]` with a name and at most a comment after it, or `key = value` with a key.
 * DOUBTFUL_LINE matches the start of any other line (a continuation, a malformed line, unusual
 * whitespace, a header with nothing but whitespace between its brackets, which the parser
 * refuses): one scan of the file, not one per kind of doubt.
 */
const DOUBTFUL_LINE =
  /^(?:(?=[ \t]*\[[^\S\r\n]*\])|(?![ \t]*(?:[#;]|$)|[ \t]*[^\s\[#;=][^\r\n]*=|[ \t]*\[[^\]\r\n]*\][ \t]*(?:[#;].*)?$))/m;
/** A line that is not blank or a comment (none may come before the first header). */
const CONTENT_LINE = /^(?![ \t]*(?:[#;]|$))/m;
/**
 * What may make one value span lines (`"""` or backtick quotes, a trailing backslash): a line
 * inside it may look like a header, so the file is parsed whole.
 */
const MULTI_LINE_VALUE = /"""|`|\\[ \t]*$/m;
/** Where the parser splits lines differently from a regular expression's `^` and `$`. */
const ODD_LINE_BREAK = /\r(?!\n)|[\u2028\u2029]/;
/**
 * Whether ODD_LINE_BREAK matches: found by indexOf (a native scan) first, since nearly every
 * config has no `\r` and no U+2028/U+2029 at all.
 */
function hasOddLineBreak(body: string): boolean {
  if (body.indexOf("\u2028") >= 0 || body.indexOf("\u2029") >= 0) return true;
  return body.indexOf("\r") >= 0 && ODD_LINE_BREAK.test(body);
}
/** Whether MULTI_LINE_VALUE matches, with indexOf scans first (most configs have none of it). */
function mayHaveMultiLineValue(body: string): boolean {
  if (body.indexOf('"""') < 0 && body.indexOf("`") < 0 && body.indexOf("\\") < 0) return false;
  return MULTI_LINE_VALUE.test(body);
}
/** The start of a section header line (with the DOUBTFUL_LINE check passed). */
const HEADER_START = /^[ \t]*\[/gm;
/** A header line: group 1 is the text between the brackets. */
const HEADER_LINE = /^[ \t]*\[([^\]\r\n]*)\]/gm;

/**
 * The config without parsing it all: when a cheap scan (native regular expressions over the
 * text) proves that every line is one the parser takes as it is, sections are found by their
 * header and each is parsed, with the same parser and its own line numbers, when first asked
 * for. Otherwise (a continuation line, a multi-line value, a malformed line anywhere, unusual line breaks) the whole
 * file is parsed at once, so every answer and every error (`file:line`) is the full parse's.
 */
export function indexConfig(
  text: string,
  path: string,
  options: ParseConfigOptions = {},
): ConfigFile {
  return configOf(path, indexSource(text, path, options).source);
}

/**
 * indexConfig's sections, and whether the file is plain (the cheap scan proved every line one
 * the parser takes as it is; otherwise the source is the full parse's).
 */
function indexSource(
  text: string,
  path: string,
  options: ParseConfigOptions,
): { source: SectionSource; plain: boolean } {
  const body = text.replace(/^\uFEFF/, "");
  const firstHeader = /^[ \t]*\[/m.exec(body)?.index ?? body.length;
  if (
    hasOddLineBreak(body) || DOUBTFUL_LINE.test(body) ||
    mayHaveMultiLineValue(body) ||
    CONTENT_LINE.test(body.slice(0, firstHeader))
  ) {
    return { source: parsedSource(text, path, options), plain: false };
  }
  const lines = lineCounter(body);
  const parsed = new Map<string, IniSection | undefined>();
  let headers: string[] | undefined;
  const allHeaders = (): string[] => {
    if (headers) return headers;
    const seen = new Set<string>();
    const ignored = new Set<string>();
    for (const match of body.matchAll(HEADER_LINE)) {
      const name = match[1].trim();
      const header = normalizeHeader(name);
      if (header !== undefined) seen.add(header);
      else if (!ignored.has(name)) {
        ignored.add(name);
        options.onIgnoredSection?.(name);
      }
    }
    return headers = [...seen];
  };
  if (options.onIgnoredSection) allHeaders();

  const section = (header: string): IniSection | undefined => {
    if (parsed.has(header)) return parsed.get(header);
    const found = headerPattern(header);
    const occurrences: SectionText[] = [];
    for (const start of found ? headerLines(body, found) : []) {
      HEADER_START.lastIndex = body.indexOf("]", start) + 1;
      const end = HEADER_START.exec(body)?.index ?? body.length;
      occurrences.push({ text: body.slice(start, end), line: lines(start) });
    }
    const result = mergeOccurrences(header, occurrences, path);
    parsed.set(header, result);
    return result;
  };
  return { source: { headers: allHeaders, section }, plain: true };
}

/** The text of one occurrence of a section, from its header line, and that line's number. */
interface SectionText {
  text: string;
  line: number;
}

/** One section from its occurrences, merged as the full parse merges them. */
function mergeOccurrences(
  header: string,
  occurrences: SectionText[],
  path: string,
): IniSection | undefined {
  /** Occurrences grouped by their exact header text, as the parser merges them. */
  const byName = new Map<string, IniSection>();
  for (const { text, line } of occurrences) {
    const [one] = parseIni(text, path, { firstLine: line }).sections;
    const same = byName.get(one.name);
    if (same) { for (const [k, v] of one.values) same.values.set(k, v); }
    else byName.set(one.name, one);
  }
  const merged = new Map<string, IniSection>();
  for (const one of byName.values()) mergeInto(merged, header, one);
  return merged.get(header);
}

/**
 * Every section of a plain config (indexSource's `plain`): the byte ranges (an ASCII body: its
 * character offsets) of each occurrence of each normalized header, for the section table.
 */
function sectionRanges(body: string): Map<string, SectionRange[]> {
  const lines = lineCounter(body);
  const starts: { at: number; header: string | undefined }[] = [];
  for (const match of body.matchAll(HEADER_LINE)) {
    starts.push({ at: match.index, header: normalizeHeader(match[1].trim()) });
  }
  const ranges = new Map<string, SectionRange[]>();
  for (const [i, { at, header }] of starts.entries()) {
    if (header === undefined) continue;
    const end = starts[i + 1]?.at ?? body.length;
    const list = ranges.get(header) ?? [];
    list.push([at, end, lines(at)]);
    ranges.set(header, list);
  }
  return ranges;
}

/** A header line at the start of a text: group 1 is the text between the brackets. */
const LEADING_HEADER = /^[ \t]*\[([^\]\r\n]*)\]/;
/** What follows a section: the next header line (at most LOOK_AHEAD bytes of it are read). */
const NEXT_HEADER = /^[ \t]*\[/;

/**
 * The config from its section table, when one holds for the file as it is (else undefined):
 * each section is read by its byte range when first asked for and checked (it starts a line
 * with its own header, and the next header or the end of the file follows it; only the first
 * section of a range is parsed, as a range holds one),
 * and the file's stamp is checked again after every read. When any check fails, or for every
 * profile name, the file is read whole and answers from then on come from it. `tablePath`:
 * sectionTablePath; `tables`: lib/config/section_table.ts.
 */
export function configFromTable(
  path: string,
  tablePath: string,
  tables: SectionTables,
): ConfigFile | undefined {
  let stamp: string | undefined;
  try {
    stamp = regularFileStamp(Deno.statSync(path));
  } catch {
    return undefined;
  }
  const table = stamp === undefined ? undefined : tables.openSectionTable(tablePath, path, stamp);
  if (!table || stamp === undefined) return undefined;
  let whole: SectionSource | undefined;
  const fallback = () => whole ??= indexedSource(path);
  // Every range read checks the stamp; a whole read again does not.
  const parsed = new Map<string, IniSection | undefined>();
  const readOccurrences = (header: string): SectionText[] | undefined => {
    const ranges = table.ranges(header);
    if (ranges === undefined) return undefined;
    const out: SectionText[] = [];
    for (const range of ranges) {
      const read = tables.readSectionBytes(path, stamp, range);
      if (!read || (read.before !== undefined && read.before !== 0x0a)) return undefined;
      const text = new TextDecoder().decode(read.bytes);
      const first = LEADING_HEADER.exec(text);
      if (!first || normalizeHeader(first[1].trim()) !== header) return undefined;
      const next = new TextDecoder().decode(read.after);
      if (next !== "" && (!text.endsWith("\n") || !NEXT_HEADER.test(next))) return undefined;
      out.push({ text, line: range[2] });
    }
    return out;
  };
  return configOf(path, {
    headers: () => fallback().headers(),
    section: (header) => {
      if (whole) return whole.section(header);
      if (parsed.has(header)) return parsed.get(header);
      const occurrences = readOccurrences(header);
      if (occurrences === undefined) return fallback().section(header);
      const result = mergeOccurrences(header, occurrences, path);
      parsed.set(header, result);
      return result;
    },
  }, () => whole ? undefined : stamp);
}

/** How to find the header lines of one normalized header: a literal to look for, then a check. */
interface HeaderSearch {
  /** Text every such header line contains (found with indexOf, not a scan by a RegExp). */
  needle: string;
  /** Matches such a header line from its start (sticky). */
  line: RegExp;
}

/**
 * The search for the header lines of one normalized header (`default`, `profile x`,
 * `sso-session x`), or undefined for a header no section can have.
 */
function headerPattern(header: string): HeaderSearch | undefined {
  const space = "[^\\S\\r\\n]";
  if (header === "default") {
    return { needle: "default", line: new RegExp(`[ \\t]*\\[${space}*default${space}*\\]`, "y") };
  }
  const match = /^(profile|sso-session) (.*)$/.exec(header);
  if (!match) return undefined;
  const name = match[2];
  if (name === "" || name !== name.trim() || /[\]\r\n]/.test(name)) return undefined;
  if (match[1] === "profile" && name === "default") return undefined;
  const escaped = name.replace(/[\\^$.*+?()[\]{}|\/-]/g, "\\$&");
  return {
    needle: name,
    line: new RegExp(`[ \\t]*\\[${space}*${match[1]}${space}+${escaped}${space}*\\]`, "y"),
  };
}

/** Starts of the lines that are headers of this search, in file order. */
function headerLines(body: string, search: HeaderSearch): number[] {
  const starts: number[] = [];
  for (let i = body.indexOf(search.needle); i !== -1; i = body.indexOf(search.needle, i + 1)) {
    const start = body.lastIndexOf("\n", i) + 1;
    if (starts[starts.length - 1] === start) continue;
    search.line.lastIndex = start;
    if (search.line.test(body)) starts.push(start);
  }
  return starts;
}

/**
 * Line numbers (1-based) of offsets in a text. Each answer is kept, and a later one counts only
 * from the nearest offset already answered below it, so asking for sections in any order (a
 * source_profile above its profile) counts each line about once. The newlines of a stretch are
 * counted by one native regular-expression match: a loop of indexOf calls, run once per process
 * and so never optimized, costs several times more over a large file.
 */
function lineCounter(text: string): (offset: number) => number {
  /** [offset, line at that offset], ascending. */
  const points: [number, number][] = [[0, 1]];
  return (offset) => {
    let lo = 0;
    for (let hi = points.length - 1; lo < hi;) {
      const mid = (lo + hi + 1) >> 1;
      if (points[mid][0] <= offset) lo = mid;
      else hi = mid - 1;
    }
    const [at, from] = points[lo];
    if (at === offset) return from;
    const line = from + (text.slice(at, offset).match(NEWLINES)?.length ?? 0);
    points.splice(lo + 1, 0, [offset, line]);
    return line;
  };
}

/** Every line break the line counter counts. */
const NEWLINES = /\n/g;

/**
 * `default`, `profile NAME` or `sso-session NAME` (inner whitespace collapsed), or undefined for
 * a section aws-vault ignores. `[profile default]` is ignored, as aws-vault does.
 */
function normalizeHeader(name: string): string | undefined {
  if (name === "default") return "default";
  const match = /^(profile|sso-session)\s+(\S.*)$/.exec(name);
  if (!match) return undefined;
  if (match[1] === "profile" && match[2] === "default") return undefined;
  return `${match[1]} ${match[2]}`;
}

/** The SSO start URL of a profile: its own `sso_start_url` or that of its `sso_session`. */
export function ssoStartUrlOf(
  config: {
    profileSection(name: string): Record<string, string> | undefined;
    ssoSessionSection(name: string): Record<string, string> | undefined;
  },
  profile: string,
): string | undefined {
  const section = config.profileSection(profile);
  if (!section) return undefined;
  if (section.sso_session) {
    return config.ssoSessionSection(section.sso_session)?.sso_start_url ?? section.sso_start_url;
  }
  return section.sso_start_url;
}
