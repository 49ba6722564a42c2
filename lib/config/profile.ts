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

/** A profile with aws-vault's precedence and inheritance rules applied. */
export interface ProfileConfig {
  /** The profile's name. */
  name: string;
  region?: string;
  mfaSerial?: string;
  roleArn?: string;
  externalId?: string;
  roleSessionName?: string;
  /** `duration_seconds` from the config, in milliseconds. */
  durationSeconds?: number;
  sourceProfileName?: string;
  includeProfile?: string;
  ssoSession?: string;
  ssoStartUrl?: string;
  ssoRegion?: string;
  ssoAccountId?: string;
  ssoRoleName?: string;
  ssoRegistrationScopes?: string;
  webIdentityTokenFile?: string;
  webIdentityTokenProcess?: string;
  stsRegionalEndpoints?: string;
  sessionTags?: Record<string, string>;
  transitiveSessionTags?: string[];
  sourceIdentity?: string;
  credentialProcess?: string;
  mfaProcess?: string;
  endpointUrl?: string;
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
