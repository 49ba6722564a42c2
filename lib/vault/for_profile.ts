/**
 * The provider factory: resolves a named profile and builds its provider chain over the
 * services. `exec` and `export` retrieve once; a credential server keeps the provider and asks it
 * for fresh credentials per request (cached sessions and the MFA ledger make that cheap); `login`
 * and `rotate` use `source` to tell long-term keys from temporary credentials. The AWS SDK is
 * loaded only if an STS call is needed.
 */
import { type ConfigFlags, resolveProfile } from "../config/resolve.ts";
import type { ProfileConfig } from "../config/profile.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import { UserError } from "../errors.ts";
import { withoutPrivateVariables } from "../process/env.ts";
import { buildChain, type ChainDeps, type CredentialSource } from "./chain.ts";
import {
  CREDENTIAL_PROCESS_CHAIN_VAR,
  refuseCredentialProcessLoop,
} from "./credential_process_loop.ts";
import type { ProfileSourceDeps } from "./profile_sources.ts";
import type { Services } from "./services.ts";
import type { SignInChoice } from "./sso_sign_in.ts";

export type { CredentialSource } from "./chain.ts";

/** One request. */
export interface ProfileCredentialsRequest {
  profileName: string;
  flags: ConfigFlags;
  noSession?: boolean;
  /** A cached session with less life than this is renewed rather than handed out. */
  minRemainingMs?: number;
  /** How to sign in to IAM Identity Center (`--use-device-code`, `--stdout`). */
  signIn?: SignInChoice;
  /**
   * Write the SSO token to the AWS CLI's cache too: `"asked"` (`--sso-sync`, says so when the
   * profile has no SSO) or `"quiet"` (`exec --profile-env`).
   */
  syncSsoCache?: "asked" | "quiet";
}

/** The resolved profile, its provider and where its credentials come from. */
export interface ProfileProvider {
  profile: ProfileConfig;
  provider: CredentialProvider;
  source: CredentialSource;
}

/** The resolved profile and its credentials. */
export interface ProfileCredentials {
  profile: ProfileConfig;
  credentials: Credentials;
  source: CredentialSource;
}

/** What the chain builder needs, from the services (the keyring is opened here). */
export async function chainDeps(
  services: Services,
  signIn: SignInChoice = {},
): Promise<ChainDeps> {
  const { runtime, log } = services;
  return {
    masterKeys: await services.credentials(),
    sessions: await services.sessions(),
    lock: services.lock,
    sts: services.sts,
    mfa: services.mfa,
    now: () => runtime.now(),
    notice: services.notice,
    debug: (m) => log.debug(m),
    env: runtime.env,
    sources: () => profileSourceDeps(services, signIn),
  };
}

/**
 * Refuses a name that is neither a config section nor stored credentials (ByteNess's
 * profileResolvable): a typo must not silently become `[default]` with default's role.
 */
export async function requireKnownProfile(services: Services, name: string): Promise<void> {
  const config = await services.config();
  if (config.hasProfile(name)) return;
  if (await (await services.credentials()).has(name)) return;
  throw new UserError(
    `profile '${name}' not found in ${config.path} and no stored credentials exist for it`,
  );
}

/** Resolves a profile and builds (does not yet call) its provider chain. */
export async function providerForProfile(
  services: Services,
  req: ProfileCredentialsRequest,
): Promise<ProfileProvider> {
  const { runtime } = services;
  refuseCredentialProcessLoop(runtime.env.get(CREDENTIAL_PROCESS_CHAIN_VAR), req.profileName);
  await requireKnownProfile(services, req.profileName);
  const config = await services.config();
  const profile = resolveProfile(config, req.profileName, { env: runtime.env, flags: req.flags });
  const { provider, source } = await buildChain(profile, await chainDeps(services, req.signIn), {
    noSession: req.noSession,
    minRemainingMs: req.minRemainingMs,
  });
  return { profile, provider, source };
}

/** SSO, web identity and credential_process collaborators; their modules load only here. */
async function profileSourceDeps(
  services: Services,
  choice: SignInChoice,
): Promise<ProfileSourceDeps> {
  const { runtime, log } = services;
  const debug = (m: string) => log.debug(m);
  const [oidc, portal, browser, signIn] = await Promise.all([
    import("../aws/sso_oidc_client.ts"),
    import("../aws/sso_client.ts"),
    import("../prompt/browser.ts"),
    import("./sso_sign_in.ts"),
  ]);
  // Programs we run (browser opener, token and credential processes) never get the passphrase.
  const processEnv = withoutPrivateVariables(runtime.env.toObject());
  return {
    ssoTokens: await services.oidcTokens(),
    oidc: services.overrides?.oidc ?? oidc.sdkOidcClientFactory({ debug }),
    ssoPortal: services.overrides?.ssoPortal ?? portal.sdkSsoPortalFactory({ debug }),
    signIn: {
      openBrowser: await browser.findBrowserOpener({
        env: runtime.env,
        os: runtime.os,
        processEnv,
      }),
      notice: (text) => runtime.stderr(`${text}\n`),
      sleep: signIn.abortableSleep,
      interruptible: signIn.onInterrupt,
    },
    signInChoice: choice,
    unsignedSts: services.unsignedSts,
    env: runtime.env,
    processEnv,
  };
}

/** Resolves a profile and retrieves its credentials once. */
export async function credentialsForProfile(
  services: Services,
  req: ProfileCredentialsRequest,
): Promise<ProfileCredentials> {
  const { profile, provider, source } = await providerForProfile(services, req);
  const credentials = await provider.retrieve();
  services.log.debug(
    `credentials for profile ${profile.name} (${source}): key ${credentials.accessKeyId}`,
  );
  if (req.syncSsoCache) {
    const { syncAwsCliSsoCache } = await import("./sso_cli_cache.ts");
    const path = await syncAwsCliSsoCache(
      profile,
      await services.oidcTokens(),
      services.runtime.homeDir(),
    );
    if (path) services.log.debug(`wrote the SSO token to ${path}`);
    else if (req.syncSsoCache === "asked") {
      services.notice(`--sso-sync: profile ${profile.name} does not get its credentials from SSO`);
    }
  }
  return { profile, credentials, source };
}
