/**
 * Credentials for a named profile, the way `exec`, `export` and friends get them: resolve the
 * profile, build its provider chain over the vault, and retrieve. The AWS SDK is loaded only if
 * an STS call is needed.
 */
import type { Keyring } from "../../backends/keyring.ts";
import { sdkStsClientFactory, type StsClientFactory } from "../aws/sts_client.ts";
import { type ConfigFlags, loadConfig, type ProfileConfig, resolveProfile } from "../config/mod.ts";
import { UserError } from "../errors.ts";
import { envFromObject, type Runtime } from "../runtime.ts";
import { withoutPrivateVariables } from "../exec/child_env.ts";
import { CredentialStore, lockDir, SessionStore, withLock } from "../store/mod.ts";
import { promptDriver } from "../prompt/drivers.ts";
import { MfaCodes } from "../prompt/mfa.ts";
import { selectPromptDriver } from "../prompt/select.ts";
import { fileLedger } from "../prompt/used_codes.ts";
import { buildProvider } from "./chain.ts";
import type { Credentials } from "./credentials.ts";
import type { Locker } from "./session_cache.ts";

/** What the caller supplies. */
export interface ProfileCredentialsDeps {
  runtime: Runtime;
  keyring: () => Promise<Keyring>;
  /** `--prompt`/`AWS_VAULT_PROMPT`. */
  promptName?: string;
  /** Tests may pass their own STS. */
  sts?: StsClientFactory;
  /** A credential server runs: automatic prompt selection prefers a GUI driver. */
  serverMode?: boolean;
  /**
   * Whether the terminal prompt may be used now; a server refreshing after its child started
   * says no (the terminal belongs to the child).
   */
  terminalPromptAllowed?: () => boolean;
}

/** One request. */
export interface ProfileCredentialsRequest {
  profileName: string;
  flags: ConfigFlags;
  noSession?: boolean;
  /** A cached session with less life than this is renewed rather than handed out. */
  minRemainingMs?: number;
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
  const config = await loadConfig(runtime);
  const profile = resolveProfile(config, req.profileName, { env: runtime.env, flags: req.flags });
  const keyring = await deps.keyring();
  const locks = lockDir(runtime);
  const lock: Locker = (name, fn) => withLock(`${locks}/${name}.lock`, fn);
  const notice = (text: string) => runtime.stderr(`aws-vault: ${text}\n`);
  // MFA programs (mfa_process, ykman, dialogs) run with our environment minus the passphrase.
  const toolEnv = withoutPrivateVariables(runtime.env.toObject());
  const mfa = new MfaCodes({
    driver: async () => {
      const name = await selectPromptDriver({
        name: deps.promptName,
        stdoutIsTerminal: runtime.stdoutIsTerminal(),
        serverMode: deps.serverMode,
        os: runtime.os,
        path: runtime.env.get("PATH"),
      });
      if (name === "terminal" && deps.terminalPromptAllowed?.() === false) {
        throw new UserError(
          "an MFA code is needed to refresh credentials, but the terminal belongs to the running command; use a GUI prompt (--prompt=zenity, kdialog, osascript or ykman) or mfa_process",
        );
      }
      return promptDriver(name, { terminal: runtime.terminal, env: envFromObject(toolEnv) });
    },
    ledger: fileLedger(
      `${locks}/mfa-codes-used.json`,
      (fn) => withLock(`${locks}/mfa-codes-used.lock`, fn),
    ),
    now: () => runtime.now(),
    notice,
    env: toolEnv,
  });
  const provider = await buildProvider(profile, {
    masterKeys: new CredentialStore(keyring),
    sessions: new SessionStore(keyring, () => runtime.now()),
    lock,
    sts: deps.sts ?? sdkStsClientFactory({ debug: (m) => runtime.debug(m) }),
    mfa,
    now: () => runtime.now(),
    notice,
    debug: (m) => runtime.debug(m),
  }, { noSession: req.noSession, minRemainingMs: req.minRemainingMs });
  const credentials = await provider.retrieve();
  runtime.debug(`credentials for profile ${profile.name}: key ${credentials.accessKeyId}`);
  return { profile, credentials };
}
