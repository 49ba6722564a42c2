/**
 * What the cached-session wrapper needs from lib/store: cached STS sessions by aws-vault's
 * session key fields, and a cross-process lock. Kept as interfaces so providers are tested with
 * in-memory doubles and run with the real store.
 */
import type { Credentials } from "./credentials.ts";

/** The fields of an aws-vault session key (the expiry part is added by the store). */
export interface SessionKey {
  /** `sts.GetSessionToken`, `sts.AssumeRole`, ... */
  type: string;
  profileName: string;
  /** The MFA serial, or "" when none. */
  mfaSerial: string;
}

/** Cached sessions. `get` returns undefined for a missing or unreadable item. */
export interface SessionCache {
  get(key: SessionKey): Promise<Credentials | undefined>;
  set(key: SessionKey, credentials: Credentials): Promise<void>;
}

/** Runs `fn` while holding the cross-process lock called `name`. */
export type Locker = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

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

/** A lock name for a session key, safe as a file name. */
export function sessionLockName(key: SessionKey): string {
  return `session.${key.type}.${b64url(key.profileName)}.${b64url(key.mfaSerial)}`;
}

function b64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
