/**
 * Builds the provider chain for a profile (reference 2.5, with ByteNess's corrected role-chaining
 * rules of 2.6): stored keys, GetSessionToken priming only where an MFA session can be shared,
 * AssumeRole, and the cached-session wrapper around every call that took an MFA code.
 */
import { configuredEndpoint } from "../aws/endpoints.ts";
import type { StsClientFactory } from "../aws/sts_client.ts";
import { formatDuration } from "../duration.ts";
import { UserError } from "../errors.ts";
import { type ProfileConfig, sourceChain } from "../config/profile.ts";
import type { Env } from "../runtime.ts";
import type { MfaCodes } from "../prompt/mfa.ts";
import { AssumeRoleProvider } from "./assume_role.ts";
import { CachedSessionProvider } from "./cached_session.ts";
import type { CredentialProvider } from "../credentials.ts";
import { MasterKeysProvider, type MasterKeyStore } from "./master_keys.ts";
import type { ProfileSourceDeps } from "./profile_sources.ts";
import type { Locker, SessionCache } from "./session_cache.ts";
import { SessionTokenProvider } from "./session_token.ts";
import type { StsTarget } from "./sts_call.ts";

/** AWS's limit on a role session assumed with temporary credentials. */
export const ROLE_CHAINING_LIMIT_MS = 3_600_000;

/** Everything the chain builder needs. */
export interface ChainDeps {
  masterKeys: MasterKeyStore;
  sessions: SessionCache;
  lock: Locker;
  sts: StsClientFactory;
  mfa: MfaCodes;
  now: () => Date;
  /** One line to the user (stderr). */
  notice: (text: string) => void;
  debug: (message: string) => void;
  /** SSO, web identity and credential_process collaborators, built when a profile needs them. */
  sources?: () => Promise<ProfileSourceDeps>;
  /** Our environment, for `AWS_ENDPOINT_URL_STS`. */
  env?: Env;
}

/** Options of one credential request. */
export interface ChainOptions {
  /** `--no-session`: never call GetSessionToken. */
  noSession?: boolean;
  /**
   * A cached session with less life than this is renewed (at least the profile's `minTtl`).
   * `export` asks for 15 minutes, botocore's refresh window.
   */
  minRemainingMs?: number;
}

/**
 * Where a chain's credentials come from: stored long-term keys handed out as they are, a
 * GetSessionToken session over them, an assumed role, or (later) SSO, web identity or
 * credential_process. Everything but "long-term keys" is temporary (has an expiry).
 */
export type CredentialSource =
  | "long-term keys"
  | "session"
  | "role"
  | "sso"
  | "web identity"
  | "credential_process";

/** A profile's provider and the source of what it returns. */
export interface Chain {
  provider: CredentialProvider;
  source: CredentialSource;
}

/** The credential provider for a resolved profile. */
export async function buildProvider(
  profile: ProfileConfig,
  deps: ChainDeps,
  options: ChainOptions = {},
): Promise<CredentialProvider> {
  return (await buildChain(profile, deps, options)).provider;
}

/** The credential provider for a resolved profile, and its source. */
export async function buildChain(
  profile: ProfileConfig,
  deps: ChainDeps,
  options: ChainOptions = {},
): Promise<Chain> {
  const roles = countRoles(profile);
  const { keysAt } = await sourceChain(profile, (name) => deps.masterKeys.has(name));
  const node = await buildNode(profile, deps, options, roles, keysAt);
  return { provider: node.provider, source: node.source };
}

interface Node {
  provider: CredentialProvider;
  /** "keys" for stored long-term keys; "session" for any temporary credentials. */
  kind: "keys" | "session";
  source: CredentialSource;
  /** The MFA serial a GetSessionToken in this chain already used (so roles need not send it). */
  chainedMfaSerial?: string;
}

/** The roles a chain assumes (with their durations), from the requested profile down. */
function countRoles(profile: ProfileConfig): ProfileConfig[] {
  const roles: ProfileConfig[] = [];
  for (let p: ProfileConfig | undefined = profile; p; p = p.sourceProfile) {
    if (p.roleArn) roles.push(p);
  }
  return roles;
}

async function buildNode(
  p: ProfileConfig,
  deps: ChainDeps,
  options: ChainOptions,
  roles: ProfileConfig[],
  keysAt: ProfileConfig | undefined,
): Promise<Node> {
  const hasStored = p === keysAt;
  const minRemainingMs = Math.max(p.minTtl, options.minRemainingMs ?? 0);
  if (!hasStored && !p.sourceProfile) {
    // Loaded only for such profiles: the cache-hit path of stored keys stays small.
    const { profileSource } = await import("./profile_sources.ts");
    const found = await profileSource(p, deps, minRemainingMs);
    if (!found) throw noCredentials(p);
    return { provider: found.provider, kind: "session", source: found.source };
  }

  const sts: StsTarget = {
    clientFor: deps.sts,
    where: {
      region: p.region,
      stsRegionalEndpoints: p.stsRegionalEndpoints,
      endpointUrl: deps.env ? configuredEndpoint("STS", deps.env, p.endpointUrl) : p.endpointUrl,
    },
  };
  let source: Node;
  if (hasStored) {
    source = {
      provider: new MasterKeysProvider(deps.masterKeys, p.name),
      kind: "keys",
      source: "long-term keys",
    };
    if (p.roleArn && p.chainedFromProfile?.roleArn) {
      // A role with its own keys that is the source of another role (ByteNess's priming): one
      // GetSessionToken with the shared MFA device serves both roles, so one prompt.
      const why = skipSessionToken(p, options, roles);
      if (why) deps.debug(`profile ${p.name}: skipping GetSessionToken because ${why}`);
      else source = sessionTokenNode(p, source, deps, sts, minRemainingMs);
    }
  } else {
    source = await buildNode(p.sourceProfile!, deps, options, roles, keysAt);
  }

  if (p.roleArn) {
    let serial = p.mfaSerial;
    if (serial && serial === source.chainedMfaSerial) {
      deps.debug(
        `profile ${p.name}: MFA ${serial} was used by GetSessionToken; not sending it again`,
      );
      serial = undefined;
    }
    let durationMs = p.durations.assumeRole;
    if (source.kind === "session" && durationMs > ROLE_CHAINING_LIMIT_MS) {
      deps.notice(
        `profile ${p.name}: AWS limits a role assumed with temporary credentials to 1h; using 1h instead of ${
          formatDuration(durationMs)
        }`,
      );
      durationMs = ROLE_CHAINING_LIMIT_MS;
    }
    const role = new AssumeRoleProvider({
      source: source.provider,
      sts,
      roleArn: p.roleArn,
      roleSessionName: p.roleSessionName,
      durationMs,
      externalId: p.externalId,
      sessionTags: p.sessionTags,
      transitiveTagKeys: p.transitiveSessionTags,
      sourceIdentity: p.sourceIdentity,
      mfa: serial ? { request: mfaRequest(p, serial), codes: deps.mfa } : undefined,
      now: deps.now,
    });
    // Only sessions that took an MFA code are cached (aws-vault's rule): others are cheap.
    const provider = serial
      ? new CachedSessionProvider({
        inner: role,
        cache: deps.sessions,
        key: { type: "sts.AssumeRole", profileName: p.name, mfaSerial: serial },
        settings: {
          roleArn: p.roleArn,
          externalId: p.externalId,
          roleSessionName: p.roleSessionName,
          sessionTags: p.sessionTags,
          transitiveTagKeys: p.transitiveSessionTags,
          sourceIdentity: p.sourceIdentity,
        },
        minRemainingMs,
        lock: deps.lock,
        now: deps.now,
        debug: deps.debug,
      })
      : role;
    return {
      provider,
      kind: "session",
      source: "role",
      chainedMfaSerial: source.chainedMfaSerial,
    };
  }

  if (source.kind === "keys") {
    const why = skipSessionToken(p, options, roles);
    if (why) {
      deps.debug(`profile ${p.name}: skipping GetSessionToken because ${why}`);
      return source;
    }
    return sessionTokenNode(p, source, deps, sts, minRemainingMs);
  }
  return source;
}

/** A cached GetSessionToken session over a profile's stored keys (with MFA if it has a serial). */
function sessionTokenNode(
  p: ProfileConfig,
  keys: Node,
  deps: ChainDeps,
  sts: StsTarget,
  minRemainingMs: number,
): Node {
  const durationMs = p.chainedFromProfile
    ? p.durations.chainedSessionToken
    : p.durations.sessionToken;
  const provider = new CachedSessionProvider({
    inner: new SessionTokenProvider({
      source: keys.provider,
      sts,
      durationMs,
      mfa: p.mfaSerial ? { request: mfaRequest(p, p.mfaSerial), codes: deps.mfa } : undefined,
    }),
    cache: deps.sessions,
    key: { type: "sts.GetSessionToken", profileName: p.name, mfaSerial: p.mfaSerial ?? "" },
    minRemainingMs,
    lock: deps.lock,
    now: deps.now,
    debug: deps.debug,
  });
  return { provider, kind: "session", source: "session", chainedMfaSerial: p.mfaSerial };
}

/**
 * Why a profile with stored keys should not get a GetSessionToken session, or undefined.
 * A profile used directly gets one; a source of a role gets one only when the role asks for the
 * same MFA device (so one prompt serves the whole chain) and the chain is not a single role that
 * needs more than the 1h AWS allows for roles assumed with temporary credentials.
 */
function skipSessionToken(
  p: ProfileConfig,
  options: ChainOptions,
  roles: ProfileConfig[],
): string | undefined {
  if (options.noSession) return "--no-session was given";
  const child = p.chainedFromProfile;
  if (!child) return undefined;
  if (!child.mfaSerial) return `profile ${child.name} has no mfa_serial`;
  if (!p.mfaSerial) return `profile ${p.name} has no mfa_serial`;
  if (child.mfaSerial !== p.mfaSerial) {
    return `profiles ${p.name} and ${child.name} use different MFA devices`;
  }
  if (roles.length === 1 && roles[0].durations.assumeRole > ROLE_CHAINING_LIMIT_MS) {
    return `the role of ${roles[0].name} needs ${
      formatDuration(roles[0].durations.assumeRole)
    }, more than the 1h allowed through a session`;
  }
  return undefined;
}

function mfaRequest(p: ProfileConfig, serial: string) {
  // A role profile without mfa_process uses its source's (ByteNess).
  let mfaProcess = p.mfaProcess;
  for (let s = p.sourceProfile; !mfaProcess && s; s = s.sourceProfile) mfaProcess = s.mfaProcess;
  return { serial, fixedCode: p.mfaToken, mfaProcess };
}

function noCredentials(p: ProfileConfig): UserError {
  return new UserError(
    `profile ${p.name}: no credentials: none stored in the vault (use 'aws-vault add ${p.name}') and no source_profile, sso_session or credential_process in the config`,
  );
}
