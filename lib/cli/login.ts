/**
 * `aws-vault login [profile]`: a console sign-in link for a profile (or for the credentials in
 * the environment), opened in the browser or printed.
 */
import { sdkIamClientFactory } from "../aws/iam_client.ts";
import { type BrowserDeps, expandBrowserTemplate, openInBrowser } from "../console/browser.ts";
import { getSigninToken } from "../console/signin_token.ts";
import {
  consoleDestination,
  consolePartition,
  loginUrl,
  logoutFirstUrl,
} from "../console/signin_url.ts";
import { UsageError, UserError } from "../errors.ts";
import { envDuration, resolveProfile } from "../config/mod.ts";
import { REMOVED_VARIABLES } from "../exec/credential_env.ts";
import { profileArgument } from "../exec/guard.ts";
import { withoutPrivateVariables } from "../process/env.ts";
import type { Env } from "../runtime.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import { FederationTokenProvider } from "../vault/federation_token.ts";
import { providerForProfile } from "../vault/for_profile.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { LOGIN } from "./table.ts";

/** login's options. */
export interface LoginOptions {
  duration?: number;
  /** false with `--no-session`. */
  session?: boolean;
  mfaToken?: string;
  path?: string;
  region?: string;
  stdout?: boolean;
  autoLogout?: boolean;
  /** `--browser <command template>` / `AWS_VAULT_BROWSER`. */
  browser?: string;
  assumeRoleTtl?: number;
  federationTokenTtl?: number;
}

/** Test seam: the HTTP client of the federation endpoint. */
export interface LoginSeams {
  fetch?: typeof fetch;
}

/** The console session AWS lets a role session have through getSigninToken (12 h). */
const MAX_CONSOLE_SESSION_S = 43_200;
const MIN_CONSOLE_SESSION_S = 900;

/** Runs the command; returns the exit code. */
export function loginCommand(
  ctx: CommandContext,
  { args: { profile }, options: o }: InputOf<typeof LOGIN>,
  seams: LoginSeams = {},
): Promise<number> {
  return login(ctx, profile, {
    duration: o.duration,
    session: o.noSession ? false : undefined,
    mfaToken: o.mfaToken,
    path: o.path,
    region: o.region,
    stdout: o.stdout,
    autoLogout: o.autoLogout,
    browser: o.browser,
    assumeRoleTtl: o.assumeRoleTtl,
    federationTokenTtl: o.federationTokenTtl,
  }, seams);
}

async function login(
  ctx: CommandContext,
  profileArg: string | undefined,
  opts: LoginOptions,
  seams: LoginSeams,
): Promise<number> {
  const { runtime } = ctx;
  const env = runtime.env;
  const debug = (m: string) => ctx.log.debug(m);
  const services = await ctx.services();
  const sts = services.sts;
  const iam = sdkIamClientFactory({ debug });
  // A broken --browser template is reported before any credential is fetched.
  if (!opts.stdout && opts.browser) expandBrowserTemplate(opts.browser, "");
  const fromEnv = envCredentials(env);
  const profileName = profileArg || (fromEnv ? undefined : env.get("AWS_PROFILE"));

  let credentials: Credentials;
  let region: string | undefined;
  /** Where to sign in and land: checked before any credential is fetched. */
  let target: { federationUrl: string; destination: string };
  /** Seconds of console session to ask for; undefined leaves it to AWS. */
  let sessionSeconds: number | undefined;
  if (!profileName && fromEnv) {
    region = opts.region || env.get("AWS_REGION") || env.get("AWS_DEFAULT_REGION") || undefined;
    target = consoleTarget(env, region, opts.path);
    const where = { region, endpointUrl: env.get("AWS_ENDPOINT_URL") || undefined };
    const source: CredentialProvider = { retrieve: () => Promise.resolve(fromEnv) };
    const federation = new FederationTokenProvider({
      source,
      sts: { clientFor: sts, where },
      iam: { clientFor: iam, where },
      // Zero is "not given", as for a profile (`-d 0`, kingpin's default).
      durationMs: opts.duration || opts.federationTokenTtl ||
        envDuration(env, "AWS_FEDERATION_TOKEN_TTL") || 3_600_000,
      debug,
    });
    credentials = await federation.retrieve();
    // Federated sessions last as long as their token; a role session's length can be asked for.
    if (federation.federated) sessionSeconds = undefined;
    else if (fromEnv.expiration) sessionSeconds = remainingSeconds(fromEnv, runtime.now());
    else if (opts.duration) sessionSeconds = clampSession(opts.duration / 1000);
  } else {
    // No profile and no keys in the environment: ByteNess's picker, as exec and export have it.
    const name = profileName || await pickedProfile(runtime, services);
    const flags = {
      region: opts.region,
      mfaToken: opts.mfaToken,
      duration: opts.duration,
      assumeRoleTtl: opts.assumeRoleTtl,
      federationTokenTtl: opts.federationTokenTtl,
    };
    const assumesRole = !!resolveProfile(await services.config(), name, { env, flags }).roleArn;
    const { profile, provider, source } = await providerForProfile(services, {
      profileName: name,
      flags,
      // A GetSessionToken session cannot sign in: the target never gets one; a role's source
      // still may (one MFA session shared by the chain), unless --no-session.
      noSession: opts.session === false || !assumesRole,
    });
    region = profile.region;
    target = consoleTarget(env, region, opts.path);
    const where = {
      region: profile.region,
      stsRegionalEndpoints: profile.stsRegionalEndpoints,
      endpointUrl: profile.endpointUrl,
    };
    if (source === "role" || source === "sso" || source === "web identity") {
      // Role sessions sign in as they are (and their console session can be given a length).
      credentials = await provider.retrieve();
      sessionSeconds = remainingSeconds(credentials, runtime.now());
    } else {
      // Long-term keys (or credential_process output) are exchanged with GetFederationToken.
      credentials = await new FederationTokenProvider({
        source: provider,
        sts: { clientFor: sts, where },
        iam: {
          clientFor: iam,
          where: { region: profile.region, endpointUrl: profile.endpointUrl },
        },
        durationMs: profile.durations.federationToken,
        debug,
      }).retrieve();
    }
  }

  const { federationUrl, destination } = target;
  debug(`console destination ${destination}; federation endpoint ${new URL(federationUrl).host}`);
  const token = await getSigninToken(federationUrl, credentials, {
    sessionDurationSeconds: sessionSeconds,
    fetch: seams.fetch,
  });
  let url = loginUrl(federationUrl, token, destination);
  if (opts.autoLogout) url = logoutFirstUrl(federationUrl, url);

  if (opts.stdout) {
    runtime.stdout(`${url}\n`);
    return 0;
  }
  const browserEnv = withoutPrivateVariables(env.toObject());
  for (const name of REMOVED_VARIABLES) delete browserEnv[name];
  const deps: BrowserDeps = { os: runtime.os, path: env.get("PATH"), env: browserEnv };
  const result = await openInBrowser(url, deps, { template: opts.browser || undefined });
  if (!result.opened) {
    runtime.stderr(
      `aws-vault: could not open a browser: ${result.why}; open this link yourself (it works once, for 15 minutes; --stdout prints it without trying a browser, --browser <command> names one):\n`,
    );
    runtime.stdout(`${url}\n`);
  }
  return 0;
}

/** The profile picked on a terminal; off one, login's usage error. */
async function pickedProfile(
  runtime: CommandContext["runtime"],
  services: Awaited<ReturnType<CommandContext["services"]>>,
): Promise<string> {
  try {
    return await profileArgument(
      undefined,
      runtime,
      async () => (await services.config()).profileNames(),
    );
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new UsageError(
      "no profile given and no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment: name a profile or set AWS_PROFILE",
    );
  }
}

/** The federation endpoint and the console page, from the region and `--path`. */
function consoleTarget(
  env: Env,
  region: string | undefined,
  path: string | undefined,
): { federationUrl: string; destination: string } {
  const partition = consolePartition(region);
  return {
    federationUrl: signinEndpoint(env) ?? partition.federationUrl,
    destination: consoleDestination(partition, region, path),
  };
}

/** Credentials in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY(/AWS_SESSION_TOKEN), if both set. */
function envCredentials(env: Env): Credentials | undefined {
  const accessKeyId = env.get("AWS_ACCESS_KEY_ID");
  const secretAccessKey = env.get("AWS_SECRET_ACCESS_KEY");
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env.get("AWS_SESSION_TOKEN") || env.get("AWS_SECURITY_TOKEN") || undefined;
  const exp = env.get("AWS_CREDENTIAL_EXPIRATION");
  const expiration = exp && !isNaN(Date.parse(exp)) ? new Date(exp) : undefined;
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}

/** AWS_VAULT_SIGNIN_ENDPOINT: https, or http to a loopback address (private endpoints, tests). */
function signinEndpoint(env: Env): string | undefined {
  const value = env.get("AWS_VAULT_SIGNIN_ENDPOINT");
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`AWS_VAULT_SIGNIN_ENDPOINT "${value}" is not a URL`);
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/.test(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new UserError(
      `AWS_VAULT_SIGNIN_ENDPOINT must be an https URL (http only to a loopback address): credentials are sent to it`,
    );
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new UserError(`AWS_VAULT_SIGNIN_ENDPOINT must have no query, fragment or user`);
  }
  return url.toString();
}

/** A role session's remaining life as a console session length AWS accepts. */
function remainingSeconds(creds: Credentials, now: Date): number | undefined {
  if (!creds.expiration) return undefined;
  return clampSession((creds.expiration.getTime() - now.getTime()) / 1000);
}

function clampSession(seconds: number): number {
  return Math.max(MIN_CONSOLE_SESSION_S, Math.min(MAX_CONSOLE_SESSION_S, Math.floor(seconds)));
}
