/**
 * What every command receives: the runtime, the global options, and lazy access to the keyring
 * (opened only when a command needs it, so `list --profiles` never asks for a passphrase).
 */
import type { Keyring } from "../../backends/keyring.ts";
import type { BackendOptions } from "../../backends/mod.ts";
import type { Logger } from "../logger.ts";
import type { Runtime } from "../runtime.ts";
import type { Services } from "../vault/services.ts";

/** Global flags, after environment defaults are applied (the backend ones: BackendOptions). */
export interface GlobalOptions extends Omit<BackendOptions, "profileNames"> {
  debug: boolean;
  /** `--prompt`/`AWS_VAULT_PROMPT`; undefined means auto-selection. */
  prompt?: string;
}

/** The context a command runs in. */
export interface CommandContext {
  runtime: Runtime;
  options: GlobalOptions;
  /** Debug output (on with --debug). */
  log: Logger;
  /** The command's services (config, keyring, stores, locks, MFA, STS), built on first use. */
  services(): Promise<Services>;
  /** The selected keyring, opened on first use (the services' keyring). */
  keyring(): Promise<Keyring>;
}

/** Every backend name `--backend` accepts (aws-vault's and ByteNess's). */
export const BACKEND_NAMES = [
  "keychain",
  "secret-service",
  "kwallet",
  "keyctl",
  "pass",
  "passage",
  "file",
  "wincred",
  "winhello",
  "op",
  "op-connect",
  "op-desktop",
  "proton-pass",
] as const;

/** Every prompt driver `--prompt` accepts. */
export const PROMPT_NAMES = [
  "terminal",
  "kdialog",
  "osascript",
  "wincredui",
  "ykman",
  "zenity",
] as const;
