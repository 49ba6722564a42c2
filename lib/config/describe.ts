/**
 * A plain-data report of a resolved profile: each set value with the config key that names it
 * and a human description of its origin. `aws-vault profile` prints it as text or JSON.
 */
import { formatDuration } from "../duration.ts";
import type { ConfigFile } from "./config_file.ts";
import { profileHeader } from "./config_file.ts";
import { type Durations, type Origin, PROFILE_KEYS, type ProfileConfig } from "./profile.ts";

/** One set value of a profile. */
export interface ValueReport {
  /** The config key (`role_arn`), as the user writes it. */
  key: string;
  value: string;
  origin: Origin;
  /** E.g. `[profile admin] line 7`, `inherited from [default] line 2`, `environment AWS_REGION`. */
  from: string;
}

/** One STS duration of a profile. */
export interface DurationReport {
  /** The STS call: `AssumeRole`, `GetSessionToken`, `GetFederationToken`. */
  call: string;
  milliseconds: number;
  /** Go-style text, e.g. `1h0m0s`. */
  text: string;
  /** True for GetSessionToken of a profile that is the source of another (default 8h). */
  chained?: boolean;
  origin: Origin;
  from: string;
}

/** Everything `aws-vault profile` shows about one profile of a chain. */
export interface ProfileReport {
  name: string;
  /** The section header (`profile admin`), or undefined when the file has none. */
  section?: string;
  /** Line of the section header. */
  line?: number;
  values: ValueReport[];
  durations: DurationReport[];
  minTtl: { milliseconds: number; text: string; from: string };
}

/** Builds the report of one resolved profile (not its sources). */
export function describeProfile(profile: ProfileConfig, config: ConfigFile): ProfileReport {
  const values: ValueReport[] = [];
  for (const [key, field] of PROFILE_KEYS) {
    const value = profile[field];
    const origin = profile.origins[field];
    if (value === undefined || origin === undefined) continue;
    values.push({ key, value: displayValue(field, value), origin, from: describeOrigin(origin) });
  }
  const duration = (
    call: string,
    field: keyof Durations,
    chained?: boolean,
  ): DurationReport => {
    const origin = profile.origins[`durations.${field}`] ?? { kind: "default" };
    const ms = profile.durations[field];
    return {
      call,
      milliseconds: ms,
      text: formatDuration(ms),
      ...(chained === undefined ? {} : { chained }),
      origin,
      from: describeOrigin(origin),
    };
  };
  const chained = profile.chainedFromProfile !== undefined;
  const header = profileHeader(profile.name);
  return {
    name: profile.name,
    ...(config.hasProfile(profile.name) ? { section: header, line: config.lineOf?.(header) } : {}),
    values,
    durations: [
      duration("AssumeRole", "assumeRole"),
      chained
        ? duration("GetSessionToken", "chainedSessionToken", true)
        : duration("GetSessionToken", "sessionToken", false),
      duration("GetFederationToken", "federationToken"),
    ],
    minTtl: {
      milliseconds: profile.minTtl,
      text: formatDuration(profile.minTtl),
      from: describeOrigin(profile.origins.minTtl ?? { kind: "default" }),
    },
  };
}

/** A one-phrase description of where a value came from. */
export function describeOrigin(origin: Origin): string {
  switch (origin.kind) {
    case "flag":
      return `flag ${origin.flag}`;
    case "env":
      return `environment ${origin.name}`;
    case "default":
      return "default";
    case "section": {
      const place = `[${origin.section}] line ${origin.line}`;
      if (origin.via === "default") return `inherited from ${place}`;
      if (origin.via === "include_profile") return `included from ${place}`;
      if (origin.via === "sso_session") return `from ${place}`;
      return place;
    }
  }
}

function displayValue(field: keyof ProfileConfig, value: unknown): string {
  if (field === "durationSeconds") return `${(value as number) / 1000}`;
  if (field === "sessionTags") {
    return Object.entries(value as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(",");
  }
  if (Array.isArray(value)) return value.join(",");
  return String(value);
}
