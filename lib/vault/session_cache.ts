/**
 * What the cached-session wrapper needs from lib/store: cached STS sessions by aws-vault's
 * session key fields, and a cross-process lock. Kept as interfaces so providers are tested with
 * in-memory doubles and run with the real store.
 */
import type { Credentials } from "../credentials.ts";
import type { SessionKey as StoredSessionKey } from "../store/session_key.ts";
import type { SessionGetOptions } from "../store/sessions.ts";
import { bytesToBase64Url, fnv1a64Hex } from "../encoding.ts";

/** The fields of an aws-vault session key without the expiry part (the store adds it). */
export type SessionKey = Omit<StoredSessionKey, "expiration">;

export type { SessionGetOptions };

/**
 * Cached sessions. `get` returns undefined for a missing or unreadable item, or one made with
 * other settings (see SessionGetOptions); `set` stores the settings digest with the session.
 */
export interface SessionCache {
  get(key: SessionKey, options?: SessionGetOptions): Promise<Credentials | undefined>;
  set(key: SessionKey, credentials: Credentials, options?: { settings?: string }): Promise<void>;
  /** Throws when a session under this key could not be stored (checked before any STS call). */
  check?(key: SessionKey): void;
  /**
   * Told when the cached-session wrapper hands out credentials `get` returned, with the least
   * life it asked of them (lib/replay records that decision).
   */
  used?(credentials: Credentials, minRemainingMs: number): void;
}

/** How long a lock may be waited for and held (defaults: the lock's, 5 minutes each). */
export interface LockTimes {
  /** Give up waiting after this long. */
  waitMs?: number;
  /** A lock held longer than this is taken over. */
  staleMs?: number;
}

/** Runs `fn` while holding the cross-process lock called `name`. */
export type Locker = <T>(name: string, fn: () => Promise<T>, times?: LockTimes) => Promise<T>;

/**
 * Lock times for work that waits on a person in a browser (an SSO sign-in may take minutes):
 * longer than the sign-in's own 10-minute limit, so no waiter takes over and opens a second tab.
 */
export const SIGN_IN_LOCK_TIMES: LockTimes = { waitMs: 11 * 60_000, staleMs: 11 * 60_000 };

/** A lock that only serialises within this process (tests, and when no lock dir is usable). */
export function processLocker(): Locker {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const before = tails.get(name) ?? Promise.resolve();
    const run = before.then(fn, fn);
    tails.set(name, run.catch(() => {}));
    return run;
  };
}

/** Longest lock name we use: file names are limited to 255 bytes (with `.lock` after it). */
const MAX_LOCK_NAME = 200;

/**
 * A lock name for a session key, safe as a file name. Long profile names or serials (which
 * some keyrings store fine) are shortened to a prefix and a hash of the whole name.
 */
export function sessionLockName(key: SessionKey): string {
  const name = `session.${key.type}.${b64url(key.profileName)}.${b64url(key.mfaSerial)}`;
  if (name.length <= MAX_LOCK_NAME) return name;
  return `${name.slice(0, MAX_LOCK_NAME - 18)}.${fnv1a64Hex(name)}`;
}

function b64url(text: string): string {
  return bytesToBase64Url(new TextEncoder().encode(text));
}
