/**
 * Reuses a cached STS session while it has enough life left; otherwise calls the wrapped
 * provider once, under a cross-process lock, so parallel processes share one STS call and one
 * MFA prompt.
 */
import { formatDuration } from "../duration.ts";
import { bytesToHex } from "../encoding.ts";
import { UserError } from "../errors.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import {
  type Locker,
  type LockTimes,
  type SessionCache,
  type SessionKey,
  sessionLockName,
} from "./session_cache.ts";
import type { RefreshableProvider } from "./sts_call.ts";

/** Cached-session settings. */
export interface CachedSessionOptions {
  inner: CredentialProvider;
  cache: SessionCache;
  key: SessionKey;
  /**
   * The settings, beyond the key, that say whose credentials the session holds (a role's ARN,
   * external ID, session name and tags; a credential_process command; an SSO account and role).
   * Their digest is stored with the session, and a session made with other settings is not used:
   * aws-vault's key (type, profile, MFA serial) would hand out the old role's session after
   * role_arn was changed. Not the duration or region: a session of another length, or got from
   * another STS region, is still a session of the same role.
   */
  settings?: Record<string, unknown>;
  /** A cached session with less life than this is replaced (`AWS_MIN_TTL`, or more for export). */
  minRemainingMs: number;
  lock: Locker;
  /** Lock times, when the wrapped call may wait on a person longer than usual. */
  lockTimes?: LockTimes;
  now: () => Date;
  debug?: (message: string) => void;
}

/** The cached-session wrapper. */
export class CachedSessionProvider implements RefreshableProvider {
  readonly key: SessionKey;
  readonly #o: CachedSessionOptions;
  #settings?: Promise<string | undefined>;

  constructor(options: CachedSessionOptions) {
    this.#o = options;
    this.key = options.key;
  }

  /** A cached session with enough life, else a new one (cached). */
  async retrieve(): Promise<Credentials> {
    const hit = await this.#usable();
    if (hit) return hit;
    return await this.#o.lock(sessionLockName(this.key), async () => {
      // Another process may have fetched it while we waited for the lock; and before a new
      // session (maybe an MFA prompt) the keyring itself is asked, not an index of it.
      return (await this.#usable({ recheck: true })) ?? (await this.#fetch());
    }, this.#o.lockTimes);
  }

  /** Replaces a session that STS refused (expired or revoked before its stated expiry). */
  async refresh(rejected: Credentials): Promise<Credentials> {
    return await this.#o.lock(sessionLockName(this.key), async () => {
      const current = await this.#usable({ recheck: true });
      if (current && current.accessKeyId !== rejected.accessKeyId) return current;
      this.#o.debug?.(
        `cached ${this.key.type} session for ${this.key.profileName} was refused by STS; renewing it`,
      );
      return await this.#fetch();
    }, this.#o.lockTimes);
  }

  async #fetch(): Promise<Credentials> {
    // A session that cannot be cached would burn the MFA code for nothing: refuse first.
    this.#o.cache.check?.(this.key);
    const creds = await this.#o.inner.retrieve();
    // Long-term keys (a credential_process may print them) do not expire: nothing to cache.
    if (!creds.expiration) return creds;
    await this.#o.cache.set(this.key, creds, { settings: await this.#settingsDigest() });
    this.#o.debug?.(`cached a new ${this.key.type} session for ${this.key.profileName}`);
    return creds;
  }

  #settingsDigest(): Promise<string | undefined> {
    const settings = this.#o.settings;
    return this.#settings ??= settings ? settingsDigest(settings) : Promise.resolve(undefined);
  }

  async #usable(options: { recheck?: boolean } = {}): Promise<Credentials | undefined> {
    let creds: Credentials | undefined;
    try {
      const settings = await this.#settingsDigest();
      creds = await this.#o.cache.get(this.key, { ...options, settings });
    } catch (err) {
      // A cancelled prompt or a wrong passphrase ends the command: asking for an MFA code
      // instead would discard a cached session that is fine.
      if (err instanceof UserError) throw err;
      this.#o.debug?.(`ignoring unreadable cached session: ${(err as Error).name}`);
      return undefined;
    }
    if (!creds?.expiration) return undefined;
    const left = creds.expiration.getTime() - this.#o.now().getTime();
    if (left < this.#o.minRemainingMs) {
      this.#o.debug?.(
        `cached ${this.key.type} session for ${this.key.profileName} has ${
          formatDuration(left)
        } left; renewing`,
      );
      return undefined;
    }
    this.#o.debug?.(
      `using cached ${this.key.type} session for ${this.key.profileName} (${
        formatDuration(left)
      } left)`,
    );
    this.#o.cache.used?.(creds, this.#o.minRemainingMs);
    return creds;
  }
}

/**
 * SHA-256 (hex) of settings: their defined values in key order, so that a setting added to a
 * provider later changes no digest of a profile without it.
 */
export async function settingsDigest(settings: Record<string, unknown>): Promise<string> {
  const defined = Object.keys(settings).sort().filter((k) => settings[k] !== undefined)
    .map((k) => [k, settings[k]]);
  const bytes = new TextEncoder().encode(JSON.stringify(defined));
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}
