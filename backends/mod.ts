/** Backend selection: `--backend`, else the best available backend, with fallback. */
import type { GlobalOptions } from "../lib/cli/global.ts";
import { NotImplementedError } from "../lib/errors.ts";
import type { Runtime } from "../lib/runtime.ts";
import type { Keyring } from "./keyring.ts";

/** Opens the keyring the options select. */
export function openKeyring(_options: GlobalOptions, _runtime: Runtime): Promise<Keyring> {
  return Promise.reject(new NotImplementedError("the keyring"));
}
