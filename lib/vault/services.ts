/**
 * The collaborators of one command, built in one place from the runtime and the parsed global
 * flags: the config, the keyring and its stores, the cross-process locks, the MFA code source and
 * the STS client factory. Each part is made on first use and then kept, so `list --profiles`
 * never opens the keyring, a cache hit never loads the AWS SDK, and a server that asks for
 * credentials per request reuses one keyring (one passphrase prompt) and one MFA ledger.
 */
import type { BackendOptions } from "../../backends/mod.ts";
import type { Keyring } from "../../backends/keyring.ts";
import type { SsoPortalFactory } from "../aws/sso_client.ts";
import type { OidcClientFactory } from "../aws/sso_oidc_client.ts";
import {
  sdkStsClientFactory,
  sdkUnsignedStsClientFactory,
  type StsClientFactory,
  type UnsignedStsClientFactory,
} from "../aws/sts_client.ts";
import { type ConfigFile, loadConfig } from "../config/config_file.ts";
import { UserError } from "../errors.ts";
import { envFromObject, type Runtime } from "../runtime.ts";
import { withLock } from "../fs/lock.ts";
import { lockDir } from "../fs/lock_dir.ts";
import type { Logger } from "../logger.ts";
import { withoutPrivateVariables } from "../process/env.ts";
import { MfaCodes } from "../prompt/mfa.ts";
import { fileLedger } from "../prompt/used_codes.ts";
import { CredentialStore } from "../store/credentials.ts";
import { OidcTokenStore } from "../store/oidc_tokens.ts";
import { SessionStore, type SessionUse } from "../store/sessions.ts";
import type { Locker } from "./session_cache.ts";

/** The global settings services are built from. */
export interface ServiceOptions extends BackendOptions {
  /** `--prompt`/`AWS_VAULT_PROMPT`; undefined means automatic selection. */
  prompt?: string;
  /**
   * A credential server runs: nobody watches the terminal, so automatic prompt selection never
   * picks it (a GUI driver or an error instead of a prompt nobody sees).
   */
  serverMode?: boolean;
  /**
   * Whether the terminal prompt may be used now: a server refreshing after its child started
   * says no (the terminal belongs to the child), and the MFA request fails with why.
   */
  terminalPromptAllowed?: () => boolean;
  /** Told which cached session was handed out (lib/replay records it). */
  onSessionUse?: (use: SessionUse) => void;
}

/** What a test may put in place of the real parts. */
export interface ServiceOverrides {
  sts?: StsClientFactory;
  unsignedSts?: UnsignedStsClientFactory;
  oidc?: OidcClientFactory;
  ssoPortal?: SsoPortalFactory;
  keyring?: () => Promise<Keyring>;
}

/** The services of one command. */
export interface Services {
  readonly runtime: Runtime;
  readonly log: Logger;
  readonly options: ServiceOptions;
  /** The AWS config file, read once. */
  config(): Promise<ConfigFile>;
  /** The keyring the options select, opened once. */
  keyring(): Promise<Keyring>;
  /** One named backend (migrate-backend opens two), with the same options. */
  backend(name: string): Promise<Keyring>;
  /** Long-term credentials in the keyring. */
  credentials(): Promise<CredentialStore>;
  /** Cached STS sessions in the keyring. */
  sessions(): Promise<SessionStore>;
  /** SSO OIDC tokens in the keyring. */
  oidcTokens(): Promise<OidcTokenStore>;
  /** Cross-process locks under ~/.awsvault/locks. */
  readonly lock: Locker;
  /** MFA codes: `--mfa-token`, `mfa_process` or the prompt driver, with the used-code ledger. */
  readonly mfa: MfaCodes;
  /** STS clients (the SDK is loaded on the first call). */
  readonly sts: StsClientFactory;
  /** Unsigned STS clients (AssumeRoleWithWebIdentity). */
  readonly unsignedSts: UnsignedStsClientFactory;
  /** What tests put in place of the SSO clients. */
  readonly overrides?: ServiceOverrides;
  /** One line to the user on stderr. */
  notice(text: string): void;
}

/** Builds the services; nothing is opened, read or started until it is used. */
export function buildServices(
  runtime: Runtime,
  options: ServiceOptions,
  log: Logger,
  overrides: ServiceOverrides = {},
): Services {
  let config: Promise<ConfigFile> | undefined;
  let keyring: Promise<Keyring> | undefined;
  const locks = lockDir(runtime);
  const loadOnce = () => config ??= loadConfig(runtime, log);
  const backendOptions: BackendOptions = {
    ...options,
    profileNames: async () => new Set((await loadOnce()).profileNames()),
  };
  const openKeyring = overrides.keyring ?? (async () => {
    const { openKeyring } = await import("../../backends/mod.ts");
    return openKeyring(backendOptions, runtime, log);
  });
  const keyringOnce = () => keyring ??= openKeyring();
  const notice = (text: string) => runtime.stderr(`aws-vault: ${text}\n`);
  // MFA programs (mfa_process, ykman, dialogs) run with our environment minus the passphrase.
  const toolEnv = withoutPrivateVariables(runtime.env.toObject());
  const mfa = new MfaCodes({
    // The drivers (and the programs they look up) load only when a code is asked for.
    driver: async () => {
      const { selectPromptDriver } = await import("../prompt/select.ts");
      const name = await selectPromptDriver({
        name: options.prompt,
        stdoutIsTerminal: runtime.stdoutIsTerminal(),
        serverMode: options.serverMode,
        os: runtime.os,
        path: runtime.env.get("PATH"),
      });
      if (name === "terminal" && options.terminalPromptAllowed?.() === false) {
        throw new UserError(
          "an MFA code is needed to refresh credentials, but the terminal belongs to the running command; use a GUI prompt (--prompt=zenity, kdialog, osascript or ykman) or mfa_process",
        );
      }
      const { promptDriver } = await import("../prompt/drivers.ts");
      return promptDriver(name, {
        terminal: runtime.terminal,
        env: envFromObject(toolEnv),
        os: runtime.os,
      });
    },
    ledger: fileLedger(
      `${locks}/mfa-codes-used.json`,
      (fn) => withLock(`${locks}/mfa-codes-used.lock`, fn),
    ),
    now: () => runtime.now(),
    notice,
    env: toolEnv,
    os: runtime.os,
  });
  return {
    runtime,
    log,
    options,
    config: loadOnce,
    keyring: keyringOnce,
    backend: async (name) => {
      const { openBackend } = await import("../../backends/mod.ts");
      return openBackend(name, backendOptions, runtime, log);
    },
    credentials: async () => new CredentialStore(await keyringOnce()),
    sessions: async () =>
      new SessionStore(await keyringOnce(), () => runtime.now(), {
        notice,
        indexDir: locks,
        debug: (m) => log.debug(m),
        onUse: options.onSessionUse,
      }),
    oidcTokens: async () => new OidcTokenStore(await keyringOnce(), () => runtime.now()),
    lock: (name, fn, times) =>
      withLock(`${locks}/${name}.lock`, fn, { timeoutMs: times?.waitMs, staleMs: times?.staleMs }),
    mfa,
    sts: overrides.sts ?? sdkStsClientFactory({ debug: (m) => log.debug(m) }),
    unsignedSts: overrides.unsignedSts ??
      sdkUnsignedStsClientFactory({ debug: (m) => log.debug(m) }),
    overrides,
    notice,
  };
}
