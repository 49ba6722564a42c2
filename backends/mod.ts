/**
 * Backend selection: `--backend`/`AWS_VAULT_BACKEND`, else the best available backend for this
 * OS, falling back down the list (aws-vault never falls back; see the reference, section 11).
 */
import type { GlobalOptions } from "../lib/cli/global.ts";
import { UserError } from "../lib/errors.ts";
import type { Runtime } from "../lib/runtime.ts";
import type { Keyring } from "./keyring.ts";

/** One backend this build supports. */
export interface BackendFactory {
  /** `--backend` name. */
  name: string;
  /** Why this backend cannot be used here, or undefined when it can. */
  unavailable(options: GlobalOptions, runtime: Runtime): Promise<string | undefined>;
  /** Opens the backend. */
  open(options: GlobalOptions, runtime: Runtime): Promise<Keyring>;
}

const fileBackend: BackendFactory = {
  name: "file",
  unavailable: () => Promise.resolve(undefined),
  open: async (options, runtime) => {
    const { openFileKeyring } = await import("./file.ts");
    return openFileKeyring(options, runtime);
  },
};

/** Supported backends in order of preference when none is chosen. */
export const BACKENDS: BackendFactory[] = [fileBackend];

/** Opens the keyring the options select. */
export async function openKeyring(options: GlobalOptions, runtime: Runtime): Promise<Keyring> {
  if (options.backend) {
    const factory = BACKENDS.find((b) => b.name === options.backend);
    if (!factory) {
      throw new UserError(`backend '${options.backend}' is not available in this build`);
    }
    const why = await factory.unavailable(options, runtime);
    if (why) throw new UserError(`backend '${factory.name}' is not available: ${why}`);
    return factory.open(options, runtime);
  }
  for (const factory of BACKENDS) {
    const why = await factory.unavailable(options, runtime);
    if (why === undefined) return factory.open(options, runtime);
    runtime.debug(`backend ${factory.name} skipped: ${why}`);
  }
  throw new UserError("no keyring backend is available");
}
