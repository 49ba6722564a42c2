/** In-memory stand-ins for lib/store's credential and session stores, for provider tests. */
import type { Credentials } from "../../lib/credentials.ts";
import type { MasterKeyStore } from "../../lib/vault/master_keys.ts";
import type { SessionCache, SessionKey } from "../../lib/vault/session_cache.ts";
import type { ProfileConfig } from "../../lib/config/profile.ts";

/** Stored long-term keys by profile name. */
export class MemoryMasterKeys implements MasterKeyStore {
  readonly keys = new Map<string, Credentials>();
  has(name: string): Promise<boolean> {
    return Promise.resolve(this.keys.has(name));
  }
  get(name: string): Promise<Credentials | undefined> {
    return Promise.resolve(this.keys.get(name));
  }
}

/** Cached sessions keyed like aws-vault's session keys (without the expiry part). */
export class MemorySessions implements SessionCache {
  readonly entries = new Map<string, Credentials>();
  static id(key: SessionKey): string {
    return `${key.type}/${key.profileName}/${key.mfaSerial}`;
  }
  get(key: SessionKey): Promise<Credentials | undefined> {
    return Promise.resolve(this.entries.get(MemorySessions.id(key)));
  }
  set(key: SessionKey, credentials: Credentials): Promise<void> {
    this.entries.set(MemorySessions.id(key), credentials);
    return Promise.resolve();
  }
  /** The cached entries' ids, sorted. */
  ids(): string[] {
    return [...this.entries.keys()].sort();
  }
}

const HOUR = 3_600_000;

/** A resolved profile with aws-vault's default durations. */
export function profile(name: string, fields: Partial<ProfileConfig> = {}): ProfileConfig {
  return {
    name,
    durations: {
      assumeRole: HOUR,
      sessionToken: HOUR,
      chainedSessionToken: 8 * HOUR,
      federationToken: HOUR,
    },
    minTtl: 5 * 60_000,
    origins: {},
    ...fields,
  };
}

/** Links `child` to its source both ways, as lib/config does. */
export function withSource(child: ProfileConfig, source: ProfileConfig): ProfileConfig {
  child.sourceProfile = source;
  child.sourceProfileName = source.name;
  source.chainedFromProfile = child;
  return child;
}
