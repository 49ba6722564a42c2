/**
 * Credentials as environment variables: the environment of a command run by `exec` (reference
 * 3.1) and the output formats of `export` (reference 3.4, 3.5, plus fish and powershell), which
 * print the same variables.
 */
import type { Credentials } from "../credentials.ts";
import { UserError } from "../errors.ts";
import { withoutPrivateVariables } from "../process/env.ts";
import { rfc3339 } from "../rfc3339.ts";
import type { ExportFormat } from "./names.ts";

/** Variables that would give the child other credentials or another profile; always removed. */
export const REMOVED_VARIABLES = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_SECURITY_TOKEN",
  "AWS_CREDENTIAL_FILE",
  "AWS_DEFAULT_PROFILE",
  "AWS_PROFILE",
  "AWS_SDK_LOAD_CONFIG",
] as const;

/** The credential variables, in the order `export` prints them. */
function credentialVariables(c: Credentials): [string, string][] {
  const vars: [string, string][] = [
    ["AWS_ACCESS_KEY_ID", c.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", c.secretAccessKey],
  ];
  if (c.sessionToken) vars.push(["AWS_SESSION_TOKEN", c.sessionToken]);
  if (c.expiration) vars.push(["AWS_CREDENTIAL_EXPIRATION", rfc3339(c.expiration)]);
  return vars;
}

/** The region variables (the SDKs read one or the other). */
function regionVariables(region: string | undefined): [string, string][] {
  return region ? [["AWS_REGION", region], ["AWS_DEFAULT_REGION", region]] : [];
}

/** What goes into the child's environment. */
export interface ChildEnvOptions {
  profileName: string;
  region?: string;
  endpointUrl?: string;
  /** Credentials as variables (the default mode). */
  credentials?: Credentials;
  /** `--profile-env`: set `AWS_PROFILE` instead of credential variables. */
  profileEnv?: boolean;
}

/** The child's environment, from ours. */
export function childEnvironment(
  parent: Record<string, string>,
  options: ChildEnvOptions,
): Record<string, string> {
  const env = withoutPrivateVariables(parent);
  for (const name of REMOVED_VARIABLES) delete env[name];
  env.AWS_VAULT = options.profileName;
  for (const [k, v] of regionVariables(options.region)) env[k] = v;
  if (options.endpointUrl) env.AWS_ENDPOINT_URL = options.endpointUrl;
  if (options.profileEnv) {
    env.AWS_PROFILE = options.profileName;
  } else if (options.credentials) {
    for (const [k, v] of credentialVariables(options.credentials)) env[k] = v;
  }
  return env;
}

/** Credentials as the JSON `credential_process` expects (two-space indent, newline). */
export function credentialProcessJson(c: Credentials): string {
  const out: Record<string, unknown> = {
    Version: 1,
    AccessKeyId: c.accessKeyId,
    SecretAccessKey: c.secretAccessKey,
  };
  if (c.sessionToken) out.SessionToken = c.sessionToken;
  if (c.expiration) out.Expiration = rfc3339(c.expiration);
  return `${JSON.stringify(out, null, 2)}\n`;
}

/**
 * Formats credentials (and the region) for `export`. Every value is quoted for its shell where
 * it needs it (`env`/`export-env` leave plain values bare, as aws-vault prints them, so
 * `docker --env-file` still reads them); `ini` refuses what would break its lines.
 */
export function formatExport(
  format: ExportFormat,
  c: Credentials,
  context: { profileName: string; region?: string },
): string {
  if (format === "json") return credentialProcessJson(c);
  if (format === "ini") {
    const values = [context.profileName, c.accessKeyId, c.secretAccessKey, c.sessionToken ?? ""];
    if (values.some((v) => /[\r\n\0]/.test(v)) || /[\[\]]/.test(context.profileName)) {
      throw new UserError("export --format ini: a value has a line break or bracket; not printed");
    }
    const lines = [`[${context.profileName}]`];
    const add = (k: string, v: string | undefined) => v && lines.push(`${k}=${v}`);
    add("aws_access_key_id", c.accessKeyId);
    add("aws_secret_access_key", c.secretAccessKey);
    add("aws_session_token", c.sessionToken);
    add("aws_credential_expiration", c.expiration && rfc3339(c.expiration));
    add("region", context.region);
    return `${lines.join("\n")}\n`;
  }
  const vars = [...credentialVariables(c), ...regionVariables(context.region)];
  const line = {
    env: (k: string, v: string) => `${k}=${posixQuoted(v)}`,
    "export-env": (k: string, v: string) => `export ${k}=${posixQuoted(v)}`,
    fish: (k: string, v: string) => `set -gx ${k} ${singleQuoted(v, "\\'")};`,
    powershell: (k: string, v: string) => `$env:${k} = ${singleQuoted(v, "''")}`,
  }[format];
  return vars.map(([k, v]) => `${line(k, v)}\n`).join("");
}

/** A value as POSIX sh reads it back verbatim: bare when plain, else in single quotes. */
function posixQuoted(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function singleQuoted(value: string, escapedQuote: string): string {
  const body = escapedQuote === "\\'" ? value.replace(/\\/g, "\\\\") : value;
  return `'${body.replace(/'/g, escapedQuote)}'`;
}
