/**
 * Profile resolution (reference 2.3, 2.4 and the config side of the 2.5 worked examples):
 * precedence, inheritance, chains, durations, origins, and the errors users see.
 */
import assert from "node:assert/strict";
import {
  indexConfig,
  parseConfig,
  type ProfileConfig,
  resolveProfile,
} from "../../lib/config/mod.ts";
import type { ConfigFlags } from "../../lib/config/mod.ts";
import { UserError } from "../../lib/errors.ts";
import { envFromObject } from "../../lib/runtime.ts";

const H = 3_600_000;
const M = "arn:aws:iam::111111111111:mfa/jonsmith";

/** The config of reference 2.5's worked examples. */
const WORKED = `[default]
region = us-east-1

[profile jonsmith]
mfa_serial = ${M}

[profile admin]
source_profile = jonsmith
role_arn = arn:aws:iam::111111111111:role/Admin
mfa_serial = ${M}

[profile ro]
source_profile = jonsmith
role_arn = arn:aws:iam::111111111111:role/ReadOnly

[profile admin2]
source_profile = admin
role_arn = arn:aws:iam::222222222222:role/Admin
mfa_serial = ${M}

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start#/
sso_region = eu-west-1

[profile sso]
sso_session = corp
sso_account_id = 333333333333
sso_role_name = Dev

[profile r]
source_profile = sso
role_arn = arn:aws:iam::333333333333:role/Deploy
`;

function resolve(
  text: string,
  name: string,
  env: Record<string, string> = {},
  flags: ConfigFlags = {},
): ProfileConfig {
  const options = { env: envFromObject(env), flags };
  // The lazily read config must give the full parse's answer, or its error, every time.
  let lazy: ProfileConfig | Error;
  try {
    lazy = resolveProfile(indexConfig(text, "/cfg"), name, options);
  } catch (err) {
    lazy = err as Error;
  }
  let full: ProfileConfig;
  try {
    full = resolveProfile(parseConfig(text, "/cfg"), name, options);
  } catch (err) {
    assert.ok(lazy instanceof Error, `the lazy config resolved what the full parse refuses`);
    assert.equal(lazy.message, (err as Error).message);
    throw err;
  }
  assert.deepStrictEqual(lazy, full);
  return full;
}

/** The chain from the requested profile down its sources. */
function chain(p: ProfileConfig): ProfileConfig[] {
  const out = [p];
  while (out[out.length - 1].sourceProfile) out.push(out[out.length - 1].sourceProfile!);
  return out;
}

/** What matters for provider selection, per profile in the chain. */
function summary(p: ProfileConfig): Record<string, unknown>[] {
  return chain(p).map((c) => ({
    name: c.name,
    roleArn: c.roleArn,
    mfaSerial: c.mfaSerial,
    ssoStartUrl: c.ssoStartUrl,
    assumeRole: c.durations.assumeRole / H,
    sessionToken: c.durations.sessionToken / H,
    chainedSessionToken: c.durations.chainedSessionToken / H,
    chainedFrom: c.chainedFromProfile?.name,
  }));
}

const row = (
  name: string,
  fields: { roleArn?: string; mfaSerial?: string; ssoStartUrl?: string; chainedFrom?: string },
  durations: [number, number, number] = [1, 1, 8],
) => ({
  name,
  roleArn: fields.roleArn,
  mfaSerial: fields.mfaSerial,
  ssoStartUrl: fields.ssoStartUrl,
  assumeRole: durations[0],
  sessionToken: durations[1],
  chainedSessionToken: durations[2],
  chainedFrom: fields.chainedFrom,
});

const ADMIN = "arn:aws:iam::111111111111:role/Admin";
const SSO_URL = "https://corp.awsapps.com/start#/";

const workedExamples: Array<{
  command: string;
  profile: string;
  flags?: ConfigFlags;
  want: ReturnType<typeof row>[];
}> = [
  {
    command: "exec jonsmith",
    profile: "jonsmith",
    want: [row("jonsmith", { mfaSerial: M })],
  },
  {
    command: "exec admin",
    profile: "admin",
    want: [
      row("admin", { roleArn: ADMIN, mfaSerial: M }),
      row("jonsmith", { mfaSerial: M, chainedFrom: "admin" }),
    ],
  },
  {
    command: "exec admin -d 2h (--duration sets AssumeRole and both GetSessionToken durations)",
    profile: "admin",
    flags: { duration: 2 * H },
    want: [
      row("admin", { roleArn: ADMIN, mfaSerial: M }, [2, 2, 2]),
      row("jonsmith", { mfaSerial: M, chainedFrom: "admin" }, [2, 2, 2]),
    ],
  },
  {
    command: "exec ro",
    profile: "ro",
    want: [
      row("ro", { roleArn: "arn:aws:iam::111111111111:role/ReadOnly" }),
      row("jonsmith", { mfaSerial: M, chainedFrom: "ro" }),
    ],
  },
  {
    command: "role -> role chain (admin2 source admin, same MFA)",
    profile: "admin2",
    want: [
      row("admin2", { roleArn: "arn:aws:iam::222222222222:role/Admin", mfaSerial: M }),
      row("admin", { roleArn: ADMIN, mfaSerial: M, chainedFrom: "admin2" }),
      row("jonsmith", { mfaSerial: M, chainedFrom: "admin" }),
    ],
  },
  {
    command: "SSO profile via [sso-session]",
    profile: "sso",
    want: [row("sso", { ssoStartUrl: SSO_URL })],
  },
  {
    command: "r = source_profile sso + role_arn (no MFA)",
    profile: "r",
    want: [
      row("r", { roleArn: "arn:aws:iam::333333333333:role/Deploy" }),
      row("sso", { ssoStartUrl: SSO_URL, chainedFrom: "r" }),
    ],
  },
];

for (const c of workedExamples) {
  Deno.test(`worked example 2.5: ${c.command}`, () => {
    assert.deepEqual(summary(resolve(WORKED, c.profile, {}, c.flags)), c.want);
  });
}

Deno.test("worked example: SSO values and their origins come from [sso-session corp]", () => {
  const p = resolve(WORKED, "sso");
  assert.equal(p.ssoRegion, "eu-west-1");
  assert.equal(p.ssoAccountId, "333333333333");
  assert.equal(p.ssoRoleName, "Dev");
  assert.equal(p.ssoSession, "corp");
  assert.deepEqual(p.origins.ssoStartUrl, {
    kind: "section",
    section: "sso-session corp",
    file: "/cfg",
    line: 22,
    via: "sso_session",
  });
  assert.deepEqual(p.origins.ssoAccountId, {
    kind: "section",
    section: "profile sso",
    file: "/cfg",
    line: 27,
  });
});

/** Table of precedence rules: [description, config, profile, env, flags, field, value, origin]. */
const precedence: Array<{
  rule: string;
  config: string;
  profile: string;
  env?: Record<string, string>;
  flags?: ConfigFlags;
  field: keyof ProfileConfig;
  want: unknown;
  origin?: unknown;
}> = [
  {
    rule: "--region beats AWS_REGION beats config",
    config: "[profile a]\nregion = eu-west-1",
    profile: "a",
    env: { AWS_REGION: "us-west-2" },
    flags: { region: "ap-south-1" },
    field: "region",
    want: "ap-south-1",
    origin: { kind: "flag", flag: "--region" },
  },
  {
    rule: "AWS_REGION beats AWS_DEFAULT_REGION and the config",
    config: "[profile a]\nregion = eu-west-1",
    profile: "a",
    env: { AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "us-east-2" },
    field: "region",
    want: "us-west-2",
    origin: { kind: "env", name: "AWS_REGION" },
  },
  {
    rule: "AWS_DEFAULT_REGION beats the config",
    config: "[profile a]\nregion = eu-west-1",
    profile: "a",
    env: { AWS_DEFAULT_REGION: "us-east-2" },
    field: "region",
    want: "us-east-2",
  },
  {
    rule: "an empty environment variable is unset",
    config: "[profile a]\nregion = eu-west-1",
    profile: "a",
    env: { AWS_REGION: "" },
    field: "region",
    want: "eu-west-1",
    origin: { kind: "section", section: "profile a", file: "/cfg", line: 2 },
  },
  {
    rule: "every profile inherits unset keys from [default], origin says so",
    config: "[default]\nmfa_serial = MD\nregion = r0\n[profile a]\nregion = r1",
    profile: "a",
    field: "mfaSerial",
    want: "MD",
    origin: { kind: "section", section: "default", file: "/cfg", line: 2, via: "default" },
  },
  {
    rule: "include_profile fills before [default] and replaces the [default] fallback",
    config:
      "[default]\nregion = r0\nrole_arn = RD\n[profile base]\nregion = rb\n[profile a]\ninclude_profile = base",
    profile: "a",
    field: "region",
    want: "rb",
    origin: {
      kind: "section",
      section: "profile base",
      file: "/cfg",
      line: 5,
      via: "include_profile",
    },
  },
  {
    rule: "an included profile falls back to [default] itself",
    config:
      "[default]\nrole_arn = RD\n[profile base]\nregion = rb\n[profile a]\ninclude_profile = base",
    profile: "a",
    field: "roleArn",
    want: "RD",
  },
  {
    rule: "the profile's own value beats its include",
    config: "[profile base]\nregion = rb\n[profile a]\ninclude_profile = base\nregion = ra",
    profile: "a",
    field: "region",
    want: "ra",
  },
  {
    rule: "sso-session values beat an inline sso_start_url",
    config:
      "[sso-session s]\nsso_start_url = https://new/start\n[profile a]\nsso_session = s\nsso_start_url = https://old/start",
    profile: "a",
    field: "ssoStartUrl",
    want: "https://new/start",
  },
  {
    rule: "AWS_ROLE_ARN applies to the requested profile",
    config: "[profile a]\nrole_arn = R1",
    profile: "a",
    env: { AWS_ROLE_ARN: "R2" },
    field: "roleArn",
    want: "R2",
    origin: { kind: "env", name: "AWS_ROLE_ARN" },
  },
  {
    rule: "session_tags parse k=v pairs, whitespace-trimmed",
    config: "[profile a]\nsession_tags = team = core , env=dev,",
    profile: "a",
    field: "sessionTags",
    want: { team: "core", env: "dev" },
  },
  {
    rule: "AWS_SESSION_TAGS beats session_tags",
    config: "[profile a]\nsession_tags = a=1",
    profile: "a",
    env: { AWS_SESSION_TAGS: "b=2" },
    field: "sessionTags",
    want: { b: "2" },
  },
  {
    rule: "transitive_session_tags parse a key list",
    config: "[profile a]\ntransitive_session_tags = team, env",
    profile: "a",
    field: "transitiveSessionTags",
    want: ["team", "env"],
  },
  {
    rule: "AWS_TRANSITIVE_TAGS beats transitive_session_tags",
    config: "[profile a]\ntransitive_session_tags = x",
    profile: "a",
    env: { AWS_TRANSITIVE_TAGS: "y,z" },
    field: "transitiveSessionTags",
    want: ["y", "z"],
  },
  {
    rule: "source_profile equal to the profile's own name is dropped",
    config: "[default]\nsource_profile = root\n[profile root]\nregion = x",
    profile: "root",
    field: "sourceProfileName",
    want: undefined,
  },
  {
    rule: "endpoint_url and sts_regional_endpoints from env beat the config",
    config: "[profile a]\nendpoint_url = http://cfg\nsts_regional_endpoints = regional",
    profile: "a",
    env: { AWS_ENDPOINT_URL: "http://env", AWS_STS_REGIONAL_ENDPOINTS: "legacy" },
    field: "endpointUrl",
    want: "http://env",
  },
  {
    rule: "--mfa-token is carried with its origin",
    config: "",
    profile: "a",
    flags: { mfaToken: "123456" },
    field: "mfaToken",
    want: "123456",
    origin: { kind: "flag", flag: "--mfa-token" },
  },
  {
    rule: "keys are case-insensitive",
    config: "[profile a]\nMFA_Serial = MX",
    profile: "a",
    field: "mfaSerial",
    want: "MX",
  },
];

for (const c of precedence) {
  Deno.test(`resolveProfile: ${c.rule}`, () => {
    const p = resolve(c.config, c.profile, c.env, c.flags);
    assert.deepEqual(p[c.field], c.want);
    if (c.origin) assert.deepEqual(p.origins[c.field], c.origin);
  });
}

Deno.test("AWS_MFA_SERIAL, AWS_REGION and --region: the requested profile's; a source's only where it says nothing", () => {
  const config = "[default]\nregion = r-default\n[profile base]\nregion = eu-west-1\n" +
    "mfa_serial = BASE-MFA\n[profile bare]\n" +
    "[profile a]\nsource_profile = base\nrole_arn = RA\nregion = ap-south-1\n" +
    "[profile b]\nsource_profile = bare\nrole_arn = RB\n";
  const env = { AWS_MFA_SERIAL: "ENV-MFA", AWS_REGION: "us-west-2", AWS_ROLE_ARN: "ENV-ROLE" };
  const a = resolve(config, "a", env);
  // The requested profile: the variables beat its section.
  assert.equal(a.mfaSerial, "ENV-MFA");
  assert.equal(a.region, "us-west-2");
  assert.equal(a.roleArn, "ENV-ROLE");
  // Its source keeps its own region and MFA device (aws-vault overrode both).
  assert.equal(a.sourceProfile?.mfaSerial, "BASE-MFA");
  assert.equal(a.sourceProfile?.region, "eu-west-1");
  assert.deepEqual(a.sourceProfile?.origins.region?.kind, "section");
  assert.equal(a.sourceProfile?.roleArn, undefined);
  // A source that says nothing gets them, before [default] (a GovCloud key needs the region).
  const b = resolve(config, "b", env);
  assert.equal(b.sourceProfile?.mfaSerial, "ENV-MFA");
  assert.equal(b.sourceProfile?.region, "us-west-2");
  assert.deepEqual(b.sourceProfile?.origins.region, { kind: "env", name: "AWS_REGION" });
  // The same for --region; and without flag or variable [default] fills in.
  const flagged = resolve(config, "b", {}, { region: "us-gov-west-1" });
  assert.equal(flagged.region, "us-gov-west-1");
  assert.equal(flagged.sourceProfile?.region, "us-gov-west-1");
  assert.equal(
    resolve(config, "a", {}, { region: "us-gov-west-1" }).sourceProfile?.region,
    "eu-west-1",
  );
  assert.equal(resolve(config, "b", {}).sourceProfile?.region, "r-default");
});

Deno.test("a source_profile without a section resolves as empty, inheriting [default]", () => {
  const p = resolve("[default]\nregion = r0\n[profile a]\nsource_profile = ghost", "a");
  assert.equal(p.sourceProfile?.name, "ghost");
  assert.equal(p.sourceProfile?.region, "r0");
  assert.equal(p.sourceProfile?.sourceProfile, undefined);
});

Deno.test("a name with no section resolves (the caller decides with the keyring)", () => {
  const p = resolve("[default]\nregion = r0", "stored-only");
  assert.equal(p.name, "stored-only");
  assert.equal(p.region, "r0");
});

Deno.test("[default] with include_profile does not loop through its own fallback", () => {
  const p = resolve("[default]\ninclude_profile = base\n[profile base]\nregion = rb", "default");
  assert.equal(p.region, "rb");
});

const durations: Array<{
  rule: string;
  config?: string;
  env?: Record<string, string>;
  flags?: ConfigFlags;
  want: [number, number, number, number];
  minTtl?: number;
}> = [
  { rule: "defaults: AssumeRole 1h, GST 1h, chained GST 8h, federation 1h", want: [1, 1, 8, 1] },
  {
    rule: "duration_seconds sets only AssumeRole",
    config: "[profile a]\nduration_seconds = 7200",
    want: [2, 1, 8, 1],
  },
  {
    rule: "AWS_ASSUME_ROLE_TTL beats duration_seconds",
    config: "[profile a]\nduration_seconds = 7200",
    env: { AWS_ASSUME_ROLE_TTL: "3h" },
    want: [3, 1, 8, 1],
  },
  {
    rule: "--duration beats every environment TTL",
    env: {
      AWS_ASSUME_ROLE_TTL: "3h",
      AWS_SESSION_TOKEN_TTL: "3h",
      AWS_CHAINED_SESSION_TOKEN_TTL: "3h",
      AWS_FEDERATION_TOKEN_TTL: "3h",
    },
    flags: { duration: 4 * H },
    want: [4, 4, 4, 4],
  },
  {
    rule: "environment TTLs, Go-style and plain seconds",
    env: {
      AWS_SESSION_TOKEN_TTL: "7200",
      AWS_CHAINED_SESSION_TOKEN_TTL: "12h",
      AWS_FEDERATION_TOKEN_TTL: "90m",
    },
    want: [1, 2, 12, 1.5],
  },
  {
    rule: "AWS_SESSION_TTL (older) sets the session token TTL, below AWS_SESSION_TOKEN_TTL",
    env: { AWS_SESSION_TTL: "2h" },
    want: [1, 2, 8, 1],
  },
  {
    rule: "--assume-role-ttl, --session-ttl, --federation-token-ttl beat the environment",
    env: { AWS_ASSUME_ROLE_TTL: "3h", AWS_SESSION_TOKEN_TTL: "3h", AWS_FEDERATION_TOKEN_TTL: "3h" },
    flags: { assumeRoleTtl: 5 * H, sessionTtl: 6 * H, federationTokenTtl: 7 * H },
    want: [5, 6, 8, 7],
  },
  { rule: "AWS_MIN_TTL", env: { AWS_MIN_TTL: "10m" }, want: [1, 1, 8, 1], minTtl: 10 },
];

for (const c of durations) {
  Deno.test(`durations: ${c.rule}`, () => {
    const p = resolve(c.config ?? "", "a", c.env, c.flags);
    const d = p.durations;
    assert.deepEqual(
      [d.assumeRole / H, d.sessionToken / H, d.chainedSessionToken / H, d.federationToken / H],
      c.want,
    );
    assert.equal(p.minTtl, (c.minTtl ?? 5) * 60_000);
  });
}

Deno.test("durations record their origins", () => {
  const p = resolve("[profile a]\n\nduration_seconds = 900", "a", { AWS_SESSION_TOKEN_TTL: "2h" });
  assert.deepEqual(p.origins["durations.assumeRole"], {
    kind: "section",
    section: "profile a",
    file: "/cfg",
    line: 3,
  });
  assert.deepEqual(p.origins["durations.sessionToken"], {
    kind: "env",
    name: "AWS_SESSION_TOKEN_TTL",
  });
  assert.deepEqual(p.origins["durations.chainedSessionToken"], { kind: "default" });
});

const errors: Array<{
  what: string;
  config: string;
  profile: string;
  env?: Record<string, string>;
  message: string;
}> = [
  {
    what: "an include_profile loop",
    config: "[profile a]\ninclude_profile = b\n[profile b]\ninclude_profile = a",
    profile: "a",
    message: "loop detected in /cfg for profile 'a': a -> b -> a",
  },
  {
    what: "a profile including itself",
    config: "[profile a]\ninclude_profile = a",
    profile: "a",
    message: "loop detected in /cfg for profile 'a': a -> a",
  },
  {
    what: "a source_profile loop",
    config:
      "[profile a]\nsource_profile = b\n[profile b]\nsource_profile = c\n[profile c]\nsource_profile = a",
    profile: "a",
    message: "loop detected in /cfg for profile 'a': a -> b -> c -> a",
  },
  {
    what: "a source_profile loop made by [default] inheritance",
    config: "[default]\nsource_profile = a\n[profile a]\nsource_profile = b",
    profile: "a",
    message: "loop detected in /cfg for profile 'a': a -> b -> a",
  },
  {
    what: "a bad duration_seconds",
    config: "[profile a]\nduration_seconds = 1h",
    profile: "a",
    message: '/cfg:2: duration_seconds must be a whole number of seconds, got "1h"',
  },
  {
    what: "a bad TTL variable",
    config: "",
    profile: "a",
    env: { AWS_ASSUME_ROLE_TTL: "soon" },
    message: 'AWS_ASSUME_ROLE_TTL="soon" is not a duration (use e.g. 90m, 12h or 3600s)',
  },
  {
    what: "a bad AWS_MIN_TTL",
    config: "",
    profile: "a",
    env: { AWS_MIN_TTL: "5 minutes" },
    message: 'AWS_MIN_TTL="5 minutes" is not a duration (use e.g. 90m, 12h or 3600s)',
  },
  {
    what: "a session tag without =",
    config: "[profile a]\n\nsession_tags = team=core,oops",
    profile: "a",
    message: '/cfg:3: session_tags: "oops" is not a key=value pair (use k1=v1,k2=v2)',
  },
  {
    what: "a bad AWS_SESSION_TAGS",
    config: "",
    profile: "a",
    env: { AWS_SESSION_TAGS: "x" },
    message: 'AWS_SESSION_TAGS: "x" is not a key=value pair (use k1=v1,k2=v2)',
  },
];

for (const c of errors) {
  Deno.test(`resolveProfile rejects ${c.what} with one clear line`, () => {
    assert.throws(
      () => resolve(c.config, c.profile, c.env),
      (err: unknown) => err instanceof UserError && err.message === c.message,
    );
  });
}
