/**
 * Providers for profiles whose credentials come from elsewhere than stored keys (reference 2.5
 * steps 3 to 5): IAM Identity Center (`sso_start_url` / `sso_session`), web identity, and
 * `credential_process`, each behind the cached-session wrapper.
 */
import { configuredEndpoint } from "../aws/endpoints.ts";
import type { SsoPortalFactory } from "../aws/sso_client.ts";
import type { OidcClientFactory } from "../aws/sso_oidc_client.ts";
import type { UnsignedStsClientFactory } from "../aws/sts_client.ts";
import type { ProfileConfig } from "../config/profile.ts";
import { UserError } from "../errors.ts";
import type { Env } from "../runtime.ts";
import { CachedSessionProvider } from "./cached_session.ts";
import { CredentialProcessProvider } from "./credential_process.ts";
import type { CredentialProvider } from "../credentials.ts";
import { type Locker, type SessionCache, SIGN_IN_LOCK_TIMES } from "./session_cache.ts";
import { SsoRoleCredentialsProvider } from "./sso_role_credentials.ts";
import type { SignInChoice, SignInUi } from "./sso_sign_in.ts";
import { type SsoSessionConfig, SsoTokenSource, type SsoTokenStore } from "./sso_token.ts";
import { WebIdentityProvider } from "./web_identity.ts";

/** What these sources need besides the session cache and the lock. */
export interface ProfileSourceDeps {
  ssoTokens: SsoTokenStore;
  oidc: OidcClientFactory;
  ssoPortal: SsoPortalFactory;
  signIn: SignInUi;
  signInChoice: SignInChoice;
  unsignedSts: UnsignedStsClientFactory;
  /** Our environment (endpoint variables). */
  env: Env;
  /** The environment of programs we run (ours minus private variables). */
  processEnv: Record<string, string>;
}

/** Shared collaborators of the chain. */
export interface SourceContext {
  sessions: SessionCache;
  lock: Locker;
  now: () => Date;
  debug: (message: string) => void;
  sources?: () => Promise<ProfileSourceDeps>;
}

/** The sources this module builds (the chain's CredentialSource names them the same way). */
export type ProfileSourceKind = "sso" | "web identity" | "credential_process";

/** The scope that makes IAM Identity Center issue refresh tokens. */
export const DEFAULT_SSO_SCOPES = ["sso:account:access"];

/** A provider for a profile without stored keys or source_profile, or undefined. */
export async function profileSource(
  p: ProfileConfig,
  ctx: SourceContext,
  minRemainingMs: number,
): Promise<{ provider: CredentialProvider; source: ProfileSourceKind } | undefined> {
  const kind: ProfileSourceKind | undefined = p.ssoStartUrl || p.ssoSession
    ? "sso"
    : p.webIdentityTokenFile || p.webIdentityTokenProcess
    ? "web identity"
    : p.credentialProcess
    ? "credential_process"
    : undefined;
  if (!kind) return undefined;
  if (!ctx.sources) throw new Error(`no collaborators for ${kind} profiles were given`);
  const deps = await ctx.sources();
  const cached = (
    inner: CredentialProvider,
    type: string,
    settings: Record<string, unknown>,
    mfaSerial = "",
  ) =>
    new CachedSessionProvider({
      inner,
      cache: ctx.sessions,
      key: { type, profileName: p.name, mfaSerial },
      settings,
      minRemainingMs,
      lock: ctx.lock,
      // An SSO sign-in or a credential_process may wait on the user.
      lockTimes: SIGN_IN_LOCK_TIMES,
      now: ctx.now,
      debug: ctx.debug,
    });

  if (kind === "sso") {
    const session = ssoSessionOf(p, deps.env);
    if (p.roleArn) {
      ctx.debug(
        `profile ${p.name}: role_arn is ignored on an SSO profile (use a second profile with source_profile = ${p.name})`,
      );
    }
    const tokens = new SsoTokenSource(session, {
      store: deps.ssoTokens,
      oidc: deps.oidc,
      lock: ctx.lock,
      ui: deps.signIn,
      choice: deps.signInChoice,
      now: ctx.now,
      debug: ctx.debug,
    });
    const accountId = accountIdOf(p);
    const roleName = required(p, p.ssoRoleName, "sso_role_name");
    const inner = new SsoRoleCredentialsProvider({
      tokens,
      portal: deps.ssoPortal,
      accountId,
      roleName,
      portalEndpoint: configuredEndpoint("SSO", deps.env, p.endpointUrl),
    });
    return {
      provider: cached(inner, "sso.GetRoleCredentials", { accountId, roleName }, session.startUrl),
      source: kind,
    };
  }
  if (kind === "web identity") {
    if (!p.roleArn) {
      throw new UserError(
        `profile ${p.name}: web_identity_token_${
          p.webIdentityTokenFile ? "file" : "process"
        } needs role_arn`,
      );
    }
    const inner = new WebIdentityProvider({
      profileName: p.name,
      roleArn: p.roleArn,
      roleSessionName: p.roleSessionName,
      durationMs: p.durations.assumeRole,
      tokenFile: p.webIdentityTokenFile,
      tokenProcess: p.webIdentityTokenFile ? undefined : p.webIdentityTokenProcess,
      sts: deps.unsignedSts,
      where: {
        region: p.region,
        stsRegionalEndpoints: p.stsRegionalEndpoints,
        endpointUrl: configuredEndpoint("STS", deps.env, p.endpointUrl),
      },
      processEnv: deps.processEnv,
      now: ctx.now,
    });
    const settings = {
      roleArn: p.roleArn,
      roleSessionName: p.roleSessionName,
      tokenFile: p.webIdentityTokenFile,
      tokenProcess: p.webIdentityTokenFile ? undefined : p.webIdentityTokenProcess,
    };
    return { provider: cached(inner, "sts.AssumeRoleWithWebIdentity", settings), source: kind };
  }
  const inner = new CredentialProcessProvider({
    profileName: p.name,
    command: p.credentialProcess!,
    env: deps.processEnv,
  });
  const settings = { command: p.credentialProcess };
  return { provider: cached(inner, "credential_process", settings), source: kind };
}

/** The SSO session of a profile, checked: start URL, region, scopes and endpoint. */
export function ssoSessionOf(p: ProfileConfig, env: Env): SsoSessionConfig {
  const where = p.ssoSession ? `[sso-session ${p.ssoSession}]` : `[profile ${p.name}]`;
  if (!p.ssoStartUrl) {
    throw new UserError(
      p.ssoSession
        ? `profile ${p.name}: sso_session '${p.ssoSession}' has no sso_start_url (is there an [sso-session ${p.ssoSession}] section?)`
        : `profile ${p.name}: sso_start_url is missing`,
    );
  }
  let url: URL | undefined;
  try {
    url = new URL(p.ssoStartUrl);
  } catch { /* reported below */ }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
    throw new UserError(`profile ${p.name}: sso_start_url is not an https URL`);
  }
  if (!p.ssoRegion) {
    throw new UserError(`profile ${p.name}: sso_region is missing (set it in ${where})`);
  }
  if (!/^[a-z]{2}(-[a-z0-9]+)+-\d+$/.test(p.ssoRegion)) {
    throw new UserError(
      `profile ${p.name}: sso_region "${p.ssoRegion.slice(0, 40)}" is not an AWS region`,
    );
  }
  const scopes = (p.ssoRegistrationScopes ?? "").split(",").map((s) => s.trim()).filter((s) =>
    s !== ""
  );
  return {
    startUrl: p.ssoStartUrl,
    region: p.ssoRegion,
    scopes: scopes.length > 0 ? scopes : DEFAULT_SSO_SCOPES,
    oidcEndpoint: configuredEndpoint("SSO_OIDC", env, p.endpointUrl),
  };
}

function accountIdOf(p: ProfileConfig): string {
  const id = required(p, p.ssoAccountId, "sso_account_id");
  if (!/^\d{12}$/.test(id)) {
    throw new UserError(
      `profile ${p.name}: sso_account_id "${id.slice(0, 40)}" is not a 12-digit account ID`,
    );
  }
  return id;
}

function required(p: ProfileConfig, value: string | undefined, key: string): string {
  if (!value) throw new UserError(`profile ${p.name}: ${key} is missing`);
  return value;
}
