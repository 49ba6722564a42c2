/**
 * What every command receives: the runtime, the global options, and lazy access to the keyring
 * (opened only when a command needs it, so `list --profiles` never asks for a passphrase).
 */
import type { Keyring } from "../../backends/keyring.ts";
import type { Runtime } from "../runtime.ts";
import type { OptionsOf } from "./spec.ts";
import type { GLOBAL_FLAGS } from "./table.ts";

/** The global flags as parsed (lib/cli/table.ts), environment defaults applied. */
export type GlobalFlags = OptionsOf<typeof GLOBAL_FLAGS>;

/** What the backends read of the global flags (GlobalFlags has all of it). */
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
  options: GlobalFlags;
  /** The selected keyring, opened on first use. */
  keyring(): Promise<Keyring>;
}
