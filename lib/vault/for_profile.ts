/**
 * The provider factory: resolves a named profile and builds its provider chain over the
 * services. `exec` and `export` retrieve once; a credential server keeps the provider and asks it
 * for fresh credentials per request (cached sessions and the MFA ledger make that cheap); `login`
 * and `rotate` use `source` to tell long-term keys from temporary credentials. The AWS SDK is
 * loaded only if an STS call is needed.
 */
import { type ConfigFlags, type ProfileConfig, resolveProfile } from "../config/mod.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import { UserError } from "../errors.ts";
import { buildChain, type CredentialSource } from "./chain.ts";
import type { Services } from "./services.ts";

export type { CredentialSource } from "./chain.ts";

/** One request. */
export interface ProfileCredentialsRequest {
  profileName: string;
  flags: ConfigFlags;
  noSession?: boolean;
  /** A cached session with less life than this is renewed rather than handed out. */
  minRemainingMs?: number;
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
  const { runtime, log } = services;
  await requireKnownProfile(services, req.profileName);
  const config = await services.config();
  const profile = resolveProfile(config, req.profileName, { env: runtime.env, flags: req.flags });
  const { provider, source } = await buildChain(profile, {
    masterKeys: await services.credentials(),
    sessions: await services.sessions(),
    lock: services.lock,
    sts: services.sts,
    mfa: services.mfa,
    now: () => runtime.now(),
    notice: services.notice,
    debug: (m) => log.debug(m),
  }, { noSession: req.noSession, minRemainingMs: req.minRemainingMs });
  return { profile, provider, source };
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
  return { profile, credentials, source };
}
