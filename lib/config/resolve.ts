/**
 * aws-vault's profile resolution (reference 2.3, 2.4): flags beat environment beat the config
 * file; a profile's section, then its `sso_session`, then `include_profile` or `[default]` fill
 * what is still unset; `source_profile` chains are resolved and linked both ways. Every value
 * records its origin so `aws-vault profile` can show it.
 */
import { parseDuration } from "../duration.ts";
import { UserError } from "../errors.ts";
import type { Env } from "../runtime.ts";
import { type ConfigFile, profileHeader, ssoSessionHeader } from "./config_file.ts";
import {
  type Durations,
  type Origin,
  type ProfileConfig,
  STRING_KEYS,
  type StringField,
} from "./profile.ts";

/** CLI flags that form aws-vault's "base config" (durations in milliseconds). */
export interface ConfigFlags {
  region?: string;
  mfaToken?: string;
  duration?: number;
  sessionTtl?: number;
  assumeRoleTtl?: number;
  federationTokenTtl?: number;
}

/** What resolveProfile needs besides the config file. */
export interface ResolveOptions {
  env: Env;
  flags?: ConfigFlags;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Keys an `[sso-session]` section contributes, applied before the profile's own keys. */
const SSO_SESSION_KEYS: ReadonlyArray<readonly [string, StringField]> = [
  ["sso_start_url", "ssoStartUrl"],
  ["sso_region", "ssoRegion"],
  ["sso_registration_scopes", "ssoRegistrationScopes"],
];

/** Environment variables that apply to every profile in the chain. */
const CHAIN_ENV: ReadonlyArray<readonly [string, StringField]> = [
  ["AWS_REGION", "region"],
  ["AWS_DEFAULT_REGION", "region"],
  ["AWS_STS_REGIONAL_ENDPOINTS", "stsRegionalEndpoints"],
  ["AWS_MFA_SERIAL", "mfaSerial"],
  ["AWS_ENDPOINT_URL", "endpointUrl"],
];

/** Environment variables that apply only to the requested (command-line) profile. */
const REQUESTED_ENV: ReadonlyArray<readonly [string, StringField]> = [
  ["AWS_ROLE_ARN", "roleArn"],
  ["AWS_ROLE_SESSION_NAME", "roleSessionName"],
  ["AWS_SOURCE_IDENTITY", "sourceIdentity"],
];

/**
 * Resolves a profile with reference 2.3/2.4 rules; throws UserError for loops and bad values.
 * A name without a section resolves (from flags, environment and `[default]`): whether such a
 * profile exists is the caller's decision, since stored keys without a section are valid.
 */
export function resolveProfile(
  config: ConfigFile,
  name: string,
  options: ResolveOptions,
): ProfileConfig {
  return resolveInChain(config, name, options, []);
}

function resolveInChain(
  config: ConfigFile,
  name: string,
  options: ResolveOptions,
  chainSoFar: string[],
): ProfileConfig {
  const requested = chainSoFar.length === 0;
  const profile: ProfileConfig = {
    name,
    durations: { assumeRole: 0, sessionToken: 0, chainedSessionToken: 0, federationToken: 0 },
    minTtl: 0,
    origins: {},
  };
  const flags = options.flags ?? {};
  // The requested profile: flags, then variables, then its sections (with [default]). A source
  // profile further down the chain keeps what its own section says (aws-vault lets --region and
  // AWS_MFA_SERIAL override a source's own region and MFA device); there the chain-wide flag
  // and variables only fill what it leaves out, before [default] does.
  if (!requested) applySections(profile, config, "own");
  if (flags.region) setString(profile, "region", flags.region, { kind: "flag", flag: "--region" });
  if (flags.mfaToken) {
    profile.mfaToken = flags.mfaToken;
    profile.origins.mfaToken = { kind: "flag", flag: "--mfa-token" };
  }
  applyEnv(profile, options.env, requested);
  applySections(profile, config, requested ? "all" : "default");

  if (profile.sourceProfileName === name) {
    // "Parent-style" configs: `source_profile = root` inherited by root itself means no source.
    delete profile.sourceProfileName;
    delete profile.origins.sourceProfileName;
  }
  profile.durations = resolveDurations(profile, flags, options.env);
  resolveMinTtl(profile, options.env);
  checkRegion(profile, "region");
  checkRegion(profile, "ssoRegion");

  const sourceName = profile.sourceProfileName;
  if (sourceName !== undefined) {
    const chain = [...chainSoFar, name];
    if (chain.length > MAX_CHAIN) {
      throw new UserError(
        `profile ${chain[0]}: its source_profile chain is longer than ${MAX_CHAIN} profiles`,
      );
    }
    if (chain.includes(sourceName)) {
      throw loopError(config, chain[0], [...chain, sourceName]);
    }
    const source = resolveInChain(config, sourceName, options, chain);
    source.chainedFromProfile = profile;
    profile.sourceProfile = source;
  }
  return profile;
}

/**
 * The longest source_profile or include_profile chain followed (real ones have a handful of
 * hops; without a bound a generated config exhausts the stack).
 */
const MAX_CHAIN = 100;

/** What a region name is made of (`eu-west-1`, `us-gov-west-1`, `cn-north-1`, `local`). */
const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/i;

/**
 * Refuses a region that is not a region name: it reaches endpoint host names, the child's
 * environment and `export` output meant for `eval`.
 */
function checkRegion(profile: ProfileConfig, field: "region" | "ssoRegion"): void {
  const value = profile[field];
  if (value === undefined || REGION.test(value)) return;
  const origin = profile.origins[field];
  const from = origin?.kind === "flag"
    ? origin.flag
    : origin?.kind === "env"
    ? origin.name
    : "the config file";
  throw new UserError(
    `invalid ${field === "region" ? "region" : "sso_region"} ${
      JSON.stringify(value)
    } (from ${from}): a region is letters, digits and '-', e.g. eu-west-1`,
  );
}

/** Fills a string field unless it is already set; empty values count as unset (as in Go). */
function setString(
  profile: ProfileConfig,
  field: StringField,
  value: string,
  origin: Origin,
): void {
  if (value === "" || profile[field] !== undefined) return;
  profile[field] = value;
  profile.origins[field] = origin;
}

function applyEnv(profile: ProfileConfig, env: Env, requested: boolean): void {
  for (const [variable, field] of CHAIN_ENV) {
    setString(profile, field, env.get(variable) ?? "", { kind: "env", name: variable });
  }
  if (!requested) return;
  for (const [variable, field] of REQUESTED_ENV) {
    setString(profile, field, env.get(variable) ?? "", { kind: "env", name: variable });
  }
  const tags = env.get("AWS_SESSION_TAGS");
  if (tags) {
    profile.sessionTags = parseSessionTags(tags, "AWS_SESSION_TAGS");
    profile.origins.sessionTags = { kind: "env", name: "AWS_SESSION_TAGS" };
  }
  const transitive = env.get("AWS_TRANSITIVE_TAGS");
  if (transitive) {
    profile.transitiveSessionTags = parseTagKeys(transitive);
    profile.origins.transitiveSessionTags = { kind: "env", name: "AWS_TRANSITIVE_TAGS" };
  }
}

/** Why a section was consulted for a profile: its own, or inherited. */
type Via = "include_profile" | "default" | "sso_session" | undefined;

/**
 * Walks the profile's section, then `include_profile` targets (or `[default]`), filling unset
 * fields. A missing section is empty, as in aws-vault.
 */
/**
 * Which sections applySections reads: the profile's own and those it includes, then [default]
 * (`all`); only the first part (`own`); only [default] and what it includes (`default`).
 */
type SectionPart = "all" | "own" | "default";

function applySections(profile: ProfileConfig, config: ConfigFile, part: SectionPart): void {
  const visited: string[] = [];
  const seen = new Set<string>();
  let current: string | undefined = part === "default" ? "default" : profile.name;
  let via: Via = part === "default" && profile.name !== "default" ? "default" : undefined;
  while (current !== undefined) {
    if (seen.has(current)) {
      throw loopError(config, profile.name, [...visited, current]);
    }
    if (visited.length > MAX_CHAIN) {
      throw new UserError(
        `profile ${profile.name}: its include_profile chain is longer than ${MAX_CHAIN} profiles`,
      );
    }
    visited.push(current);
    seen.add(current);
    const header = profileHeader(current);
    const section: Record<string, string> = config.profileSection(current) ?? {};
    const originOf = (sectionHeader: string, key: string, how: Via): Origin => ({
      kind: "section",
      section: sectionHeader,
      file: config.path,
      line: config.lineOf?.(sectionHeader, key) ?? 0,
      ...(how ? { via: how } : {}),
    });

    const ssoName = section["sso_session"];
    if (ssoName && profile.ssoSession === undefined) {
      const ssoSection = config.ssoSessionSection(ssoName);
      for (const [key, field] of SSO_SESSION_KEYS) {
        const value = ssoSection?.[key];
        if (value !== undefined) {
          const ssoHeader = ssoSessionHeader(ssoName);
          setString(profile, field, value, originOf(ssoHeader, key, "sso_session"));
        }
      }
    }
    for (const [key, field] of STRING_KEYS) {
      const value = section[key];
      if (value !== undefined) setString(profile, field, value, originOf(header, key, via));
    }
    fillDurationSeconds(profile, section, originOf(header, "duration_seconds", via));
    fillSessionTags(profile, section, originOf(header, "session_tags", via));
    fillTransitiveTags(profile, section, originOf(header, "transitive_session_tags", via));

    const include: string | undefined = section["include_profile"];
    if (include) {
      current = include;
      via = "include_profile";
    } else if (part === "all" && current !== "default" && !visited.includes("default")) {
      current = "default";
      via = "default";
    } else {
      current = undefined;
    }
  }
}

function fillDurationSeconds(
  profile: ProfileConfig,
  section: Record<string, string>,
  origin: Origin,
): void {
  const text = section["duration_seconds"];
  if (!text || profile.durationSeconds !== undefined) return;
  if (!/^\d+$/.test(text.trim())) {
    throw new UserError(
      `${where(origin)}: duration_seconds must be a whole number of seconds, got "${text}"`,
    );
  }
  const seconds = Number(text.trim());
  if (seconds === 0) return;
  profile.durationSeconds = seconds * 1000;
  profile.origins.durationSeconds = origin;
}

function fillSessionTags(
  profile: ProfileConfig,
  section: Record<string, string>,
  origin: Origin,
): void {
  const text = section["session_tags"];
  if (!text || profile.sessionTags !== undefined) return;
  profile.sessionTags = parseSessionTags(text, `${where(origin)}: session_tags`);
  profile.origins.sessionTags = origin;
}

function fillTransitiveTags(
  profile: ProfileConfig,
  section: Record<string, string>,
  origin: Origin,
): void {
  const text = section["transitive_session_tags"];
  if (!text || profile.transitiveSessionTags !== undefined) return;
  profile.transitiveSessionTags = parseTagKeys(text);
  profile.origins.transitiveSessionTags = origin;
}

/** `k1=v1,k2=v2` (pairs trimmed; empty pieces skipped). `what` names the source in errors. */
export function parseSessionTags(text: string, what: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const piece of text.split(",")) {
    const pair = piece.trim();
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      throw new UserError(
        `${what}: "${pair}" is not a key=value pair (use k1=v1,k2=v2)`,
      );
    }
    tags[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return tags;
}

/** `k1,k2` (trimmed; empty pieces skipped). */
export function parseTagKeys(text: string): string[] {
  return text.split(",").map((k) => k.trim()).filter((k) => k !== "");
}

/** One candidate for a duration: a value (ms) or nothing, with its origin. */
type DurationSource = [number | undefined, Origin];

function resolveDurations(profile: ProfileConfig, flags: ConfigFlags, env: Env): Durations {
  const flag = (value: number | undefined, name: string): DurationSource => [
    value ? value : undefined,
    { kind: "flag", flag: name },
  ];
  const fromEnv = (name: string): DurationSource => [envDuration(env, name), { kind: "env", name }];
  const builtIn = (ms: number): DurationSource => [ms, { kind: "default" }];
  const durationSeconds: DurationSource = [
    profile.durationSeconds,
    profile.origins.durationSeconds ?? { kind: "default" },
  ];
  const pick = (field: keyof Durations, candidates: DurationSource[]): number => {
    for (const [value, origin] of candidates) {
      if (value !== undefined) {
        profile.origins[`durations.${field}`] = origin;
        return value;
      }
    }
    throw new Error("unreachable: every duration has a default");
  };
  const duration = flag(flags.duration, "--duration");
  return {
    assumeRole: pick("assumeRole", [
      duration,
      flag(flags.assumeRoleTtl, "--assume-role-ttl"),
      fromEnv("AWS_ASSUME_ROLE_TTL"),
      durationSeconds,
      builtIn(HOUR),
    ]),
    sessionToken: pick("sessionToken", [
      duration,
      flag(flags.sessionTtl, "--session-ttl"),
      fromEnv("AWS_SESSION_TOKEN_TTL"),
      fromEnv("AWS_SESSION_TTL"),
      builtIn(HOUR),
    ]),
    chainedSessionToken: pick("chainedSessionToken", [
      duration,
      fromEnv("AWS_CHAINED_SESSION_TOKEN_TTL"),
      builtIn(8 * HOUR),
    ]),
    federationToken: pick("federationToken", [
      duration,
      flag(flags.federationTokenTtl, "--federation-token-ttl"),
      fromEnv("AWS_FEDERATION_TOKEN_TTL"),
      builtIn(HOUR),
    ]),
  };
}

function resolveMinTtl(profile: ProfileConfig, env: Env): void {
  const fromEnv = envDuration(env, "AWS_MIN_TTL");
  profile.minTtl = fromEnv ?? 5 * MINUTE;
  profile.origins.minTtl = fromEnv === undefined
    ? { kind: "default" }
    : { kind: "env", name: "AWS_MIN_TTL" };
}

/** A duration (ms) from an environment variable; undefined when unset, empty or zero. */
export function envDuration(env: Env, name: string): number | undefined {
  const text = env.get(name);
  if (text === undefined || text.trim() === "") return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new UserError(`${name}="${text}" is not a duration (use e.g. 90m, 12h or 3600s)`);
  }
  return ms === 0 ? undefined : ms;
}

function where(origin: Origin): string {
  return origin.kind === "section" ? `${origin.file}:${origin.line}` : "config";
}

function loopError(config: ConfigFile, profile: string, path: string[]): UserError {
  return new UserError(
    `loop detected in ${config.path} for profile '${profile}': ${path.join(" -> ")}`,
  );
}
