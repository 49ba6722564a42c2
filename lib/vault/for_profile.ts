/**
 * Credentials for a named profile, the way `exec`, `export` and friends get them: resolve the
 * profile, build its provider chain over the vault, and retrieve. The AWS SDK is loaded only if
 * an STS call is needed.
 */
import type { Keyring } from "../../backends/keyring.ts";
import type { SsoPortalFactory } from "../aws/sso_client.ts";
import type { OidcClientFactory } from "../aws/sso_oidc_client.ts";
import {
  sdkStsClientFactory,
  sdkUnsignedStsClientFactory,
  type StsClientFactory,
  type UnsignedStsClientFactory,
} from "../aws/sts_client.ts";
import { type ConfigFlags, loadConfig, type ProfileConfig, resolveProfile } from "../config/mod.ts";
import { envFromObject, type Runtime } from "../runtime.ts";
import { withoutPrivateVariables } from "../exec/child_env.ts";
import { CredentialStore, lockDir, OidcTokenStore, SessionStore, withLock } from "../store/mod.ts";
import { promptDriver } from "../prompt/drivers.ts";
import { MfaCodes } from "../prompt/mfa.ts";
import { selectPromptDriver } from "../prompt/select.ts";
import { fileLedger } from "../prompt/used_codes.ts";
import { buildProvider } from "./chain.ts";
import { CREDENTIAL_PROCESS_CHAIN_VAR, refuseCredentialProcessLoop } from "./credential_process.ts";
import type { Credentials } from "./credentials.ts";
import type { Locker } from "./session_cache.ts";
import type { ProfileSourceDeps } from "./profile_sources.ts";
import type { SignInChoice } from "./sso_sign_in.ts";

/** What the caller supplies. */
export interface ProfileCredentialsDeps {
  runtime: Runtime;
  keyring: () => Promise<Keyring>;
  /** `--prompt`/`AWS_VAULT_PROMPT`. */
  promptName?: string;
  /** Tests may pass their own STS. */
  sts?: StsClientFactory;
  unsignedSts?: UnsignedStsClientFactory;
  oidc?: OidcClientFactory;
  ssoPortal?: SsoPortalFactory;
}

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

/** The resolved profile and its credentials. */
export interface ProfileCredentials {
  profile: ProfileConfig;
  credentials: Credentials;
}

/** Resolves a profile and retrieves its credentials. */
export async function credentialsForProfile(
  deps: ProfileCredentialsDeps,
  req: ProfileCredentialsRequest,
): Promise<ProfileCredentials> {
  const { runtime } = deps;
  refuseCredentialProcessLoop(runtime.env.get(CREDENTIAL_PROCESS_CHAIN_VAR), req.profileName);
  const config = await loadConfig(runtime);
  const profile = resolveProfile(config, req.profileName, { env: runtime.env, flags: req.flags });
  const keyring = await deps.keyring();
  const locks = lockDir(runtime);
  const lock: Locker = (name, fn, times) =>
    withLock(`${locks}/${name}.lock`, fn, { timeoutMs: times?.waitMs, staleMs: times?.staleMs });
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
  const debug = (m: string) => runtime.debug(m);
  const ssoTokens = new OidcTokenStore(keyring, () => runtime.now());
  // Built (and their modules loaded) only for SSO, web identity and credential_process.
  const sources = async (): Promise<ProfileSourceDeps> => {
    const [oidc, portal, browser, signIn] = await Promise.all([
      import("../aws/sso_oidc_client.ts"),
      import("../aws/sso_client.ts"),
      import("../prompt/browser.ts"),
      import("./sso_sign_in.ts"),
    ]);
    return {
      ssoTokens,
      oidc: deps.oidc ?? oidc.sdkOidcClientFactory({ debug }),
      ssoPortal: deps.ssoPortal ?? portal.sdkSsoPortalFactory({ debug }),
      signIn: {
        openBrowser: await browser.findBrowserOpener({
          env: runtime.env,
          os: runtime.os,
          processEnv: toolEnv,
        }),
        notice: (text) => runtime.stderr(`${text}\n`),
        sleep: signIn.abortableSleep,
        interruptible,
      },
      signInChoice: req.signIn ?? {},
      unsignedSts: deps.unsignedSts ?? sdkUnsignedStsClientFactory({ debug }),
      env: runtime.env,
      processEnv: toolEnv,
    };
  };
  const provider = await buildProvider(profile, {
    masterKeys: new CredentialStore(keyring),
    sessions: new SessionStore(keyring, () => runtime.now()),
    lock,
    sts: deps.sts ?? sdkStsClientFactory({ debug: (m) => runtime.debug(m) }),
    mfa,
    now: () => runtime.now(),
    notice,
    debug,
    env: runtime.env,
    sources,
  }, { noSession: req.noSession, minRemainingMs: req.minRemainingMs });
  const credentials = await provider.retrieve();
  runtime.debug(`credentials for profile ${profile.name}: key ${credentials.accessKeyId}`);
  if (req.syncSsoCache) {
    const { syncAwsCliSsoCache } = await import("./sso_cli_cache.ts");
    const path = await syncAwsCliSsoCache(profile, ssoTokens, runtime.homeDir());
    if (path) debug(`wrote the SSO token to ${path}`);
    else if (req.syncSsoCache === "asked") {
      notice(`--sso-sync: profile ${profile.name} does not get its credentials from SSO`);
    }
  }
  return { profile, credentials };
}

/** Runs `fn` with a signal that Ctrl-C (SIGINT) aborts while it runs. */
async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onInterrupt = () => controller.abort(new Error("interrupted"));
  const signal: Deno.Signal = "SIGINT";
  Deno.addSignalListener(signal, onInterrupt);
  try {
    return await fn(controller.signal);
  } finally {
    Deno.removeSignalListener(signal, onInterrupt);
  }
}
