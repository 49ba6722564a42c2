/**
 * What every command receives: the runtime, the global options, and lazy access to the keyring
 * (opened only when a command needs it, so `list --profiles` never asks for a passphrase).
 */
import type { Keyring } from "../../backends/keyring.ts";
import type { Logger } from "../logger.ts";
import type { Runtime } from "../runtime.ts";
import type { Services } from "../vault/services.ts";

/** Global flags, after environment defaults are applied. */
export interface GlobalOptions {
  debug: boolean;
  /** `--backend`/`AWS_VAULT_BACKEND`; undefined means "pick the best available". */
  backend?: string;
  /** `--prompt`/`AWS_VAULT_PROMPT`; undefined means auto-selection. */
  prompt?: string;
  keychain: string;
  secretServiceCollection: string;
  passDir?: string;
  passCmd?: string;
  passPrefix?: string;
  fileDir: string;
  /** keyctl keyring scope (aws-vault never sets one; we default to `user`). */
  keyctlScope: string;
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
