/**
 * Cached STS/SSO/credential_process sessions, stored as aws-vault stores them: one item per
 * session under a key naming its type, profile, MFA serial and expiry, Data = the STS
 * Credentials JSON. Expired and legacy items are removed before every lookup and write.
 */
import {
  type Item,
  type Keyring,
  KeyringError,
  type KeysSnapshot,
  newItem,
} from "../../backends/keyring.ts";
import type { Credentials } from "../credentials.ts";
import { rfc3339 } from "../rfc3339.ts";
import {
  decodeSessionData,
  encodeSessionData,
  isSessionData,
  SESSION_DESCRIPTION,
  sessionDataSettings,
} from "./session_data.ts";
import {
  formatSessionKey,
  isLegacySessionKey,
  isSessionKey,
  parseSessionKey,
  type SessionKey,
  sessionKeyExpiry,
  sessionKeyPrefix,
} from "./session_key.ts";
import { lookUpSessionIndex, sessionIndexPath, writeSessionIndex } from "./session_index.ts";

/** Options for SessionStore. */
export interface SessionStoreOptions {
  /** Told once (per store) that an item that cannot be decrypted was kept and skipped. */
  notice?: (text: string) => void;
  /**
   * Where session indexes live (lib/store/session_index.ts): with one, a lookup in a keyring
   * that reports snapshots finds its session without listing the keyring. None: always list.
   */
  indexDir?: string;
  /** Debug logger (never receives secrets). */
  debug?: (message: string) => void;
  /** Told which item a cached-session wrapper handed out (lib/replay records it). */
  onUse?: (use: SessionUse) => void;
}

/** A session handed out: the item it was read from and the least life that was asked of it. */
export interface SessionUse {
  itemKey: string;
  /** The keyring's snapshot stamp when the lookup began (none: it gave none). */
  keysStamp?: string;
  credentials: Credentials;
  minRemainingMs: number;
}

/** Options for SessionStore.get. */
export interface SessionGetOptions {
  /** List the keyring rather than trust the session index (a second look under the lock). */
  recheck?: boolean;
  /**
   * The digest of the settings the session must have been made with (SETTINGS_FIELD): another
   * digest is a session of something else (a changed role_arn), passed over; none (aws-vault's
   * sessions) is taken.
   */
  settings?: string;
}

/**
 * Cached sessions in a keyring. A key shaped like a session key is not enough to touch an item:
 * aws-vault stores credentials under any name, so only items written as sessions (their
 * Description says so) are read as sessions or removed. Items that cannot be decrypted are
 * skipped and kept.
 */
export class SessionStore {
  #keyring: Keyring;
  #now: () => Date;
  #notice: (text: string) => void;
  #told = false;
  #options: SessionStoreOptions;
  /** The item each credentials object that `get` returned was read from, and the snapshot. */
  #readFrom = new WeakMap<Credentials, { itemKey: string; keysStamp?: string }>();

  constructor(keyring: Keyring, now: () => Date, options: SessionStoreOptions = {}) {
    this.#keyring = keyring;
    this.#now = now;
    this.#notice = options.notice ?? (() => {});
    this.#options = options;
  }

  /**
   * The cached session for this type/profile/MFA serial, or undefined (also for bad JSON).
   * From the session index when it holds (no session it knows has expired) and names a session
   * that reads back; otherwise the keyring is listed once: expired items are removed and the
   * session found from that listing (and the index rewritten when the keyring was left alone).
   */
  async get(
    key: Omit<SessionKey, "expiration">,
    options: SessionGetOptions = {},
  ): Promise<Credentials | undefined> {
    const snapshot = this.#options.indexDir && !options.recheck
      ? await this.#keyring.keysSnapshot?.()
      : undefined;
    const indexPath = snapshot && await sessionIndexPath(this.#options.indexDir!, snapshot.store);
    let indexHolds = false;
    if (snapshot && indexPath) {
      const index = await lookUpSessionIndex(indexPath, snapshot, sessionKeyPrefix(key));
      indexHolds = index !== undefined && this.#now().getTime() <= index.nextExpiry;
      if (index && indexHolds) {
        const keys = this.#keysWithPrefix(key, index.keys);
        const hit = await this.#firstReadable(keys, options.settings, snapshot);
        if (hit) return hit;
        this.#options.debug?.("the session index names no readable session for this key: listing");
      }
    }
    const current = await this.#removeOldFrom(await this.#keyring.keys());
    const found = await this.#firstReadable(
      this.#keysWithPrefix(key, current),
      options.settings,
      snapshot,
    );
    // An index that holds says what this listing says: it is not written again.
    if (snapshot && indexPath && !indexHolds) await this.#saveIndex(indexPath, snapshot, current);
    return found;
  }

  /**
   * The credentials of the first of these keys that reads back as a session made with these
   * settings (or with none said).
   */
  async #firstReadable(
    keys: string[],
    settings: string | undefined,
    snapshot?: KeysSnapshot,
  ): Promise<Credentials | undefined> {
    // Newest first; one unreadable item must not hide a good one.
    for (const found of keys) {
      const item = await this.#sessionItem(found);
      if (!item) continue;
      const text = new TextDecoder().decode(item.data);
      const creds = decodeSessionData(text);
      if (!creds) continue;
      const madeWith = sessionDataSettings(text);
      if (settings !== undefined && madeWith !== undefined && madeWith !== settings) {
        this.#options.debug?.(
          `cached session ${found} was made with other profile settings; not using it`,
        );
        continue;
      }
      this.#readFrom.set(creds, { itemKey: found, keysStamp: snapshot?.stamp });
      return creds;
    }
    return undefined;
  }

  /** Passes a hand-out of credentials this store read on to `onUse`. */
  used(credentials: Credentials, minRemainingMs: number): void {
    const read = this.#readFrom.get(credentials);
    if (read) this.#options.onUse?.({ ...read, credentials, minRemainingMs });
  }

  /**
   * Writes the index of a listing taken under `before`, if the keyring still reports that
   * snapshot (nothing was written or removed since, by us or anyone). Best effort: an index
   * that cannot be written only costs the next lookup a listing.
   */
  async #saveIndex(path: string, before: KeysSnapshot, listed: string[]): Promise<void> {
    try {
      const after = await this.#keyring.keysSnapshot?.();
      if (after?.store !== before.store || after.stamp !== before.stamp) return;
      const keys = listed.filter(isSessionKey);
      let nextExpiry = Infinity;
      for (const k of keys) {
        if (parseSessionKey(k)) nextExpiry = Math.min(nextExpiry, sessionKeyExpiry(k));
      }
      await writeSessionIndex(path, before, { keys, nextExpiry }, this.#now());
    } catch (err) {
      this.#options.debug?.(`cannot write the session index ${path}: ${(err as Error).message}`);
    }
  }

  /**
   * Stores a session, with the digest of the settings it was made with; its key's expiry is the
   * credentials' expiration. The profile's other sessions of this type and MFA serial go.
   */
  async set(
    key: Omit<SessionKey, "expiration">,
    creds: Credentials,
    options: { settings?: string } = {},
  ): Promise<void> {
    if (!creds.expiration) throw new Error("session credentials need an expiration");
    const current = await this.#removeOldFrom(await this.#keyring.keys());
    const previous = this.#keysWithPrefix(key, current);
    const newKey = formatSessionKey({ ...key, expiration: creds.expiration });
    await this.#keyring.set(newItem({
      key: newKey,
      data: new TextEncoder().encode(encodeSessionData(creds, options.settings)),
      label: `aws-vault session for ${key.profileName} (expires ${rfc3339(creds.expiration)})`,
      description: SESSION_DESCRIPTION,
    }));
    // Written first, removed second: a crash in between leaves an extra item, never none.
    for (const old of previous) if (old !== newKey) await this.#removeSession(old);
  }

  /** Throws when the keyring could not store a session under this key (before any STS call). */
  check(key: Omit<SessionKey, "expiration">): void {
    // The longest expiry field a key gets (10 digits, until 2286).
    this.#keyring.checkKey?.(formatSessionKey({ ...key, expiration: new Date(9999999999_000) }));
  }

  /** Every current-format session key in the keyring (expired ones included). */
  async list(): Promise<SessionKey[]> {
    const out: SessionKey[] = [];
    for (const k of await this.#keyring.keys()) {
      const parsed = parseSessionKey(k);
      if (parsed) out.push(parsed);
    }
    return out;
  }

  /** Removes every session of a profile; returns how many. */
  async removeForProfile(profile: string): Promise<number> {
    return await this.#removeWhere((k) => parseSessionKey(k)?.profileName === profile);
  }

  /** Removes every session, legacy ones included; returns how many. */
  async removeAll(): Promise<number> {
    return await this.#removeWhere((k) => isSessionKey(k) || isLegacySessionKey(k));
  }

  /** Removes legacy-format sessions and sessions whose key says they expired. */
  async removeOld(): Promise<number> {
    const keys = await this.#keyring.keys();
    let n = 0;
    await this.#removeOldFrom(keys, () => n++);
    return n;
  }

  /**
   * Removes the legacy and expired sessions of a listing; returns the other keys. Only a key's
   * expiry digits are read on this path (it runs on every lookup, over the whole vault).
   */
  async #removeOldFrom(keys: string[], removed?: () => void): Promise<string[]> {
    const now = this.#now().getTime();
    const left: string[] = [];
    for (const k of keys) {
      const old = isLegacySessionKey(k) ||
        (sessionKeyExpiry(k) < now && parseSessionKey(k) !== undefined);
      if (!old) left.push(k);
      else if (await this.#removeSession(k)) removed?.();
    }
    return left;
  }

  /** The session keys of a listing with this type/profile/MFA serial, newest expiry first. */
  #keysWithPrefix(key: Omit<SessionKey, "expiration">, keys: string[]): string[] {
    const prefix = sessionKeyPrefix(key);
    return keys
      .filter((k) => k.startsWith(prefix) && isSessionKey(k))
      .map((k) => ({ k, at: parseSessionKey(k)!.expiration.getTime() }))
      .sort((a, b) => b.at - a.at)
      .map(({ k }) => k);
  }

  /**
   * The item under `key` if it was written as a session; undefined for a credential that only
   * looks like one, a missing item, or an item that cannot be decrypted (kept, told once). A
   * wrong passphrase is thrown: it must stop every change.
   */
  async #sessionItem(key: string): Promise<Item | undefined> {
    let item: Item | undefined;
    try {
      item = await this.#keyring.get(key);
    } catch (err) {
      if (!(err instanceof KeyringError)) throw err;
      if (!this.#told) {
        this.#told = true;
        this.#notice(`${err.message}; skipping it`);
      }
      return undefined;
    }
    if (!item) return undefined;
    if (item.description === SESSION_DESCRIPTION) return item;
    // keyctl (like aws-vault's wincred) keeps only Item.Data: there the Data itself must be
    // session credentials. A stored credential never is: aws-vault writes its expiry as
    // `Expires`, never `Expiration`, and has no session token.
    return item.description === "" && isSessionData(item.data) ? item : undefined;
  }

  async #removeSession(key: string): Promise<boolean> {
    if (!(await this.#sessionItem(key))) return false;
    return await this.#keyring.remove(key);
  }

  async #removeWhere(match: (key: string) => boolean): Promise<number> {
    let n = 0;
    for (const k of await this.#keyring.keys()) {
      if (match(k) && await this.#removeSession(k)) n++;
    }
    return n;
  }
}
