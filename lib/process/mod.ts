/** Starting programs: one PATH lookup, one spawn helper, one spawn-error mapping. */
export { PRIVATE_VARIABLES, withoutPrivateVariables } from "./env.ts";
export { lookPath } from "./path_lookup.ts";
export {
  ProgramLimitError,
  type ProgramResult,
  runProgram,
  type RunProgramOptions,
  SpawnError,
  type SpawnFailure,
  spawnFailure,
} from "./spawn.ts";
