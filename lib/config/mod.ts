/**
 * AWS config loading and profile resolution: the API other layers use. Parsing, resolution and
 * edits live in their own modules; this re-exports them.
 */
export {
  type ConfigFile,
  configFilePath,
  indexConfig,
  loadConfig,
  type LoadConfigOptions,
  parseConfig,
  type ParseConfigOptions,
  profileHeader,
  ssoSessionHeader,
  ssoStartUrlOf,
} from "./config_file.ts";
export { type ConfigFlags, envDuration, type ResolveOptions, resolveProfile } from "./resolve.ts";
export { addProfileSection } from "./edit.ts";
export {
  describeOrigin,
  describeProfile,
  type DurationReport,
  type ProfileReport,
  type ValueReport,
} from "./describe.ts";
export { type Durations, type Origin, type ProfileConfig, sourceChain } from "./profile.ts";
