/** The resolved profile: what lib/vault needs to build a credential provider chain. */

/** Where a resolved value came from, for `aws-vault profile` and error messages. */
export type Origin =
  | { kind: "flag"; flag: string }
  | { kind: "env"; name: string }
  | {
    kind: "section";
    /** The section header without brackets: `default`, `profile x`, `sso-session x`. */
    section: string;
    file: string;
    line: number;
    /** Set when the value was inherited rather than read from the profile's own section. */
    via?: "include_profile" | "default" | "sso_session";
  }
  | { kind: "default" };

/** Durations in milliseconds, after flags, environment and config are applied. */
export interface Durations {
  /** AssumeRole (default 1h). */
  assumeRole: number;
  /** GetSessionToken for a profile that is not a source of another (default 1h). */
  sessionToken: number;
  /** GetSessionToken for a profile that is the source of another (default 8h). */
  chainedSessionToken: number;
  /** GetFederationToken for `login` (default 1h). */
  federationToken: number;
}

/**
 * The one mapping of config keys (reference 2.2) to ProfileConfig fields, in the order
 * `aws-vault profile` shows them. Every key but PARSED_KEYS holds a plain string.
 */
export const PROFILE_KEYS = [
  ["source_profile", "sourceProfileName"],
  ["role_arn", "roleArn"],
  ["mfa_serial", "mfaSerial"],
  ["region", "region"],
  ["external_id", "externalId"],
  ["role_session_name", "roleSessionName"],
  ["duration_seconds", "durationSeconds"],
  ["include_profile", "includeProfile"],
  ["sso_session", "ssoSession"],
  ["sso_start_url", "ssoStartUrl"],
  ["sso_region", "ssoRegion"],
  ["sso_account_id", "ssoAccountId"],
  ["sso_role_name", "ssoRoleName"],
  ["sso_registration_scopes", "ssoRegistrationScopes"],
  ["web_identity_token_file", "webIdentityTokenFile"],
  ["web_identity_token_process", "webIdentityTokenProcess"],
  ["credential_process", "credentialProcess"],
  ["mfa_process", "mfaProcess"],
  ["sts_regional_endpoints", "stsRegionalEndpoints"],
  ["endpoint_url", "endpointUrl"],
  ["session_tags", "sessionTags"],
  ["transitive_session_tags", "transitiveSessionTags"],
  ["source_identity", "sourceIdentity"],
] as const;

/** Keys whose value is parsed (a duration, tags), not kept as a string. */
export const PARSED_KEYS = ["duration_seconds", "session_tags", "transitive_session_tags"] as const;

type ParsedKey = typeof PARSED_KEYS[number];
type KeyEntry = typeof PROFILE_KEYS[number];
/** A `[config key, field]` pair of a plain string value. */
export type StringKeyEntry = Exclude<KeyEntry, readonly [ParsedKey, string]>;
/** ProfileConfig fields that hold a plain string. */
export type StringField = StringKeyEntry[1];
/** Every ProfileConfig field a config key sets. */
export type KeyField = KeyEntry[1];

/** The config keys of plain string fields. */
export const STRING_KEYS: readonly StringKeyEntry[] = PROFILE_KEYS.filter(
  (entry): entry is StringKeyEntry => !(PARSED_KEYS as readonly string[]).includes(entry[0]),
);

/** A profile with aws-vault's precedence and inheritance rules applied. */
export interface ProfileConfig extends Partial<Record<StringField, string>> {
  /** The profile's name. */
  name: string;
  /** `duration_seconds` from the config, in milliseconds. */
  durationSeconds?: number;
  sessionTags?: Record<string, string>;
  transitiveSessionTags?: string[];
  /** `--mfa-token`: one code for every MFA call of this run. */
  mfaToken?: string;
  durations: Durations;
  /** Minimum remaining life of a cached session before it is refreshed (`AWS_MIN_TTL`, 5m). */
  minTtl: number;
  /** The resolved source profile (`source_profile`), if any. */
  sourceProfile?: ProfileConfig;
  /** The profile this one is the source of, if it was reached through `source_profile`. */
  chainedFromProfile?: ProfileConfig;
  /** Where each set field came from, keyed by the field name above. */
  origins: Partial<Record<string, Origin>>;
}

/** A profile's source chain, as far as credentials are looked for. */
export interface SourceChain {
  /** The profile, then each `source_profile` down to where credentials come from. */
  profiles: ProfileConfig[];
  /** The first profile of the chain with stored long-term keys (aws-vault stops there). */
  keysAt?: ProfileConfig;
}

/**
 * Walks `source_profile` from a profile to the first one whose long-term keys are stored (what
 * lies below it is not used), or to the end of the chain.
 */
export async function sourceChain(
  profile: ProfileConfig,
  hasKeys: (name: string) => boolean | Promise<boolean>,
): Promise<SourceChain> {
  const profiles: ProfileConfig[] = [];
  for (let p: ProfileConfig | undefined = profile; p; p = p.sourceProfile) {
    profiles.push(p);
    if (await hasKeys(p.name)) return { profiles, keysAt: p };
  }
  return { profiles };
}
