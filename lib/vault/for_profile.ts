/**
 * Credentials for a named profile, the way `exec`, `export` and friends get them: resolve the
 * profile, build its provider chain over the vault, and retrieve. The AWS SDK is loaded only if
 * an STS call is needed.
 */
import type { Keyring } from "../../backends/keyring.ts";
import { sdkStsClientFactory, type StsClientFactory } from "../aws/sts_client.ts";
import {
  type ConfigFile,
  type ConfigFlags,
  loadConfig,
  type ProfileConfig,
  resolveProfile,
} from "../config/mod.ts";
import { envFromObject, type Runtime } from "../runtime.ts";
import { withoutPrivateVariables } from "../exec/child_env.ts";
import { CredentialStore, lockDir, SessionStore, withLock } from "../store/mod.ts";
import { promptDriver } from "../prompt/drivers.ts";
import { MfaCodes } from "../prompt/mfa.ts";
import { selectPromptDriver } from "../prompt/select.ts";
import { fileLedger } from "../prompt/used_codes.ts";
import { buildProvider, type ChainDeps } from "./chain.ts";
import type { CredentialProvider, Credentials } from "./credentials.ts";
import type { Locker } from "./session_cache.ts";

/** What the caller supplies. */
export interface ProfileCredentialsDeps {
  runtime: Runtime;
  keyring: () => Promise<Keyring>;
  /** `--prompt`/`AWS_VAULT_PROMPT`. */
  promptName?: string;
  /** Tests may pass their own STS. */
  sts?: StsClientFactory;
}

/** One request. */
export interface ProfileCredentialsRequest {
  profileName: string;
  flags: ConfigFlags;
  /** `--no-session`, or a rule that decides it from the resolved profile (login). */
  noSession?: boolean | ((profile: ProfileConfig) => boolean);
  /** A cached session with less life than this is renewed rather than handed out. */
  minRemainingMs?: number;
}

/** The resolved profile and its credentials. */
export interface ProfileCredentials {
  profile: ProfileConfig;
  credentials: Credentials;
}

/** What a command builds once from the runtime: config, vault stores, and the chain's parts. */
export interface ProfileServices {
  config: ConfigFile;
  credentials: CredentialStore;
  sessions: SessionStore;
  chain: ChainDeps;
}

/** The provider of a resolved profile, and what it was built from. */
export interface ProfileProvider {
  profile: ProfileConfig;
  provider: CredentialProvider;
  services: ProfileServices;
}

/** Builds the services: the keyring is opened here (so a passphrase may be asked). */
export async function profileServices(deps: ProfileCredentialsDeps): Promise<ProfileServices> {
  const { runtime } = deps;
  const config = await loadConfig(runtime);
  const keyring = await deps.keyring();
  const locks = lockDir(runtime);
  const lock: Locker = (name, fn) => withLock(`${locks}/${name}.lock`, fn);
  const notice = (text: string) => runtime.stderr(`aws-vault: ${text}\n`);
  // MFA programs (mfa_process, ykman, dialogs) run with our environment minus the passphrase.
  const toolEnv = withoutPrivateVariables(runtime.env.toObject());
  const mfa = new MfaCodes({
    driver: async () =>
      promptDriver(
        await selectPromptDriver({
          name: deps.promptName,
          stdoutIsTerminal: runtime.stdoutIsTerminal(),
          os: runtime.os,
          path: runtime.env.get("PATH"),
        }),
        { terminal: runtime.terminal, env: envFromObject(toolEnv) },
      ),
    ledger: fileLedger(
      `${locks}/mfa-codes-used.json`,
      (fn) => withLock(`${locks}/mfa-codes-used.lock`, fn),
    ),
    now: () => runtime.now(),
    notice,
    env: toolEnv,
  });
  const credentials = new CredentialStore(keyring);
  const sessions = new SessionStore(keyring, () => runtime.now());
  return {
    config,
    credentials,
    sessions,
    chain: {
      masterKeys: credentials,
      sessions,
      lock,
      sts: deps.sts ?? sdkStsClientFactory({ debug: (m) => runtime.debug(m) }),
      mfa,
      now: () => runtime.now(),
      notice,
      debug: (m) => runtime.debug(m),
    },
  };
}

/** Resolves a profile and builds its provider chain (nothing is retrieved yet). */
export async function providerForProfile(
  deps: ProfileCredentialsDeps,
  req: ProfileCredentialsRequest,
  services?: ProfileServices,
): Promise<ProfileProvider> {
  const s = services ?? await profileServices(deps);
  const profile = resolveProfile(s.config, req.profileName, {
    env: deps.runtime.env,
    flags: req.flags,
  });
  const noSession = typeof req.noSession === "function" ? req.noSession(profile) : req.noSession;
  const provider = await buildProvider(profile, s.chain, {
    noSession,
    minRemainingMs: req.minRemainingMs,
  });
  return { profile, provider, services: s };
}

/** Resolves a profile and retrieves its credentials. */
export async function credentialsForProfile(
  deps: ProfileCredentialsDeps,
  req: ProfileCredentialsRequest,
): Promise<ProfileCredentials> {
  const { profile, provider } = await providerForProfile(deps, req);
  const credentials = await provider.retrieve();
  deps.runtime.debug(`credentials for profile ${profile.name}: key ${credentials.accessKeyId}`);
  return { profile, credentials };
}
