/**
 * Where lock files live, with the small state files kept beside them (replay records, config
 * section tables): `~/.awsvault/locks`. Apart from lock.ts, so that finding those files loads no
 * locking code (a cache-hit `export` and `list --profiles` take no lock).
 */
import type { Runtime } from "../runtime.ts";

/** Where lock files live: `~/.awsvault/locks`. */
export function lockDir(runtime: Runtime): string {
  return `${runtime.homeDir().replace(/\/+$/, "")}/.awsvault/locks`;
}
