/**
 * The AWS config file (`AWS_CONFIG_FILE` or `~/.aws/config`) as aws-vault sees it: `[default]`,
 * `[profile NAME]` and `[sso-session NAME]` sections; any other section is ignored (so
 * `[profile default]` and `[NAME]` are not profiles, as in aws-vault).
 */
import { UserError } from "../errors.ts";
import { type Logger, SILENT_LOGGER } from "../logger.ts";
import { expandHome, type Runtime } from "../runtime.ts";
import { type IniSection, parseIni } from "./ini.ts";

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

/** The largest config file we read: a bound, far beyond any real config. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Reads and parses the config file; a missing file is an empty config (and is not created). */
export async function loadConfig(
  runtime: Runtime,
  log: Logger = SILENT_LOGGER,
): Promise<ConfigFile> {
  const path = configFilePath(runtime);
  let text = "";
  const bytes = await readConfigBytes(path);
  if (bytes === undefined) {
    log.debug(`config file ${path} does not exist: using an empty config`);
  } else {
    text = decodeConfigText(bytes, path);
  }
  return parseConfig(text, path, {
    onIgnoredSection: (name) => log.debug(`${path}: ignoring unrecognised section [${name}]`),
  });
}

/**
 * The bytes of a config file, undefined when it does not exist. Only a regular file is read
 * (`/dev/null` counts as empty): a FIFO or a device would block or never end.
 */
export async function readConfigBytes(path: string): Promise<Uint8Array | undefined> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new UserError(`cannot read config file ${path}: it is a directory`);
    if (!info.isFile) {
      if (info.isCharDevice && (await Deno.realPath(path)) === "/dev/null") {
        return new Uint8Array();
      }
      throw new UserError(
        `cannot read config file ${path}: it is not a regular file (a device, FIFO or socket)`,
      );
    }
    if (info.size > MAX_CONFIG_BYTES) {
      throw new UserError(
        `cannot read config file ${path}: it is larger than ${MAX_CONFIG_BYTES} bytes`,
      );
    }
    return await Deno.readFile(path);
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
  return new TextDecoder().decode(bytes);
}

/** Options for parseConfig. */
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
  const sections = new Map<string, IniSection>();
  for (const section of parseIni(text, path).sections) {
    const header = normalizeHeader(section.name);
    if (header === undefined) {
      options.onIgnoredSection?.(section.name);
      continue;
    }
    const existing = sections.get(header);
    if (existing) {
      // `[profile  x]` and `[profile x]` are one section: merge, later keys win.
      for (const [k, v] of section.values) existing.values.set(k, v);
    } else {
      sections.set(header, { ...section, name: header, values: new Map(section.values) });
    }
  }

  const raw = (header: string): Record<string, string> | undefined => {
    const section = sections.get(header);
    if (!section) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of section.values) out[k] = v.value;
    return out;
  };

  return {
    path,
    profileNames: () => {
      const names: string[] = [];
      for (const [header, section] of sections) {
        if (header === "default") {
          if (section.values.size > 0) names.push("default");
        } else if (header.startsWith("profile ")) {
          names.push(header.slice("profile ".length));
        }
      }
      return names;
    },
    hasProfile: (name) => sections.has(profileHeader(name)),
    profileSection: (name) => raw(profileHeader(name)),
    ssoSessionSection: (name) => raw(ssoSessionHeader(name)),
    lineOf: (header, key) => {
      const section = sections.get(header);
      if (!section) return undefined;
      return key === undefined ? section.line : section.values.get(key)?.line;
    },
  };
}

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
