/** The environment of a command run by `exec` (reference 3.1). */
import { rfc3339 } from "../rfc3339.ts";
import type { Credentials } from "../credentials.ts";
import { withoutPrivateVariables } from "../process/env.ts";

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
  if (options.region) {
    env.AWS_REGION = options.region;
    env.AWS_DEFAULT_REGION = options.region;
  }
  if (options.endpointUrl) env.AWS_ENDPOINT_URL = options.endpointUrl;
  if (options.profileEnv) {
    env.AWS_PROFILE = options.profileName;
  } else if (options.credentials) {
    const c = options.credentials;
    env.AWS_ACCESS_KEY_ID = c.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = c.secretAccessKey;
    if (c.sessionToken) env.AWS_SESSION_TOKEN = c.sessionToken;
    if (c.expiration) env.AWS_CREDENTIAL_EXPIRATION = rfc3339(c.expiration);
  }
  return env;
}
