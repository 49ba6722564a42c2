/**
 * What every command receives: the runtime, the global options, and lazy access to the keyring
 * (opened only when a command needs it, so `list --profiles` never asks for a passphrase).
 */
import type { Keyring } from "../../backends/keyring.ts";
import type { BackendOptions } from "../../backends/mod.ts";
import type { Logger } from "../logger.ts";
import type { RunWatch } from "../replay/watch.ts";
import type { Runtime } from "../runtime.ts";
import type { Services } from "../vault/services.ts";
import type { OptionsOf } from "./spec.ts";
import type { GLOBAL_FLAGS } from "./table.ts";

/** The global flags as parsed (lib/cli/table.ts), environment defaults applied. */
export type GlobalFlags = OptionsOf<typeof GLOBAL_FLAGS>;

/** What the layers below read of the global flags (GlobalFlags has all of it). */
export interface GlobalOptions extends Omit<BackendOptions, "profileNames"> {
  debug: boolean;
  /** `--prompt`/`AWS_VAULT_PROMPT`; undefined means auto-selection. */
  prompt?: string;
}

/** The context a command runs in. */
export interface CommandContext {
  runtime: Runtime;
  options: GlobalFlags;
  /** Debug output (on with --debug). */
  log: Logger;
  /** The command's services (config, keyring, stores, locks, MFA, STS), built on first use. */
  services(): Promise<Services>;
  /** The selected keyring, opened on first use (the services' keyring). */
  keyring(): Promise<Keyring>;
  /** What the run reads and says, for a replay record (lib/replay); none in some tests. */
  watch?: RunWatch;
}
