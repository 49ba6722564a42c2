/**
 * Cached STS/SSO/credential_process sessions, stored as aws-vault stores them: one item per
 * session under a key naming its type, profile, MFA serial and expiry, Data = the STS
 * Credentials JSON. Expired and legacy items are removed before every lookup and write.
 */
import { type Keyring, newItem } from "../../backends/keyring.ts";
import type { Credentials } from "../credentials.ts";
import { goJsonEscape, parseGoObject, stringField, timeField } from "../go_json.ts";
import { rfc3339, rfc3339Nano } from "../rfc3339.ts";
import {
  formatSessionKey,
  isLegacySessionKey,
  isSessionKey,
  parseSessionKey,
  type SessionKey,
  sessionKeyExpiry,
  sessionKeyPrefix,
} from "./session_key.ts";

/** Encodes session credentials as the STS Credentials JSON aws-vault stores. */
export function encodeSessionData(creds: Credentials): string {
  if (!creds.expiration) throw new Error("session credentials need an expiration");
  return goJsonEscape(JSON.stringify({
    AccessKeyId: creds.accessKeyId,
    Expiration: rfc3339Nano(creds.expiration),
    SecretAccessKey: creds.secretAccessKey,
    SessionToken: creds.sessionToken ?? "",
  }));
}

/** Decodes session Data JSON; undefined when it is not valid session credentials. */
export function decodeSessionData(text: string): Credentials | undefined {
  const fields = parseGoObject(text);
  if (!fields) return undefined;
  const accessKeyId = stringField(fields, "AccessKeyId");
  const secretAccessKey = stringField(fields, "SecretAccessKey");
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = stringField(fields, "SessionToken");
  const expiration = timeField(fields, "Expiration");
  return {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    ...(expiration ? { expiration } : {}),
  };
}

/** Cached sessions in a keyring. */
export class SessionStore {
  #keyring: Keyring;
  #now: () => Date;

  constructor(keyring: Keyring, now: () => Date) {
    this.#keyring = keyring;
    this.#now = now;
  }

  /**
   * The cached session for this type/profile/MFA serial, or undefined (also for bad JSON). The
   * keyring is listed once: expired items are removed and the session found from that listing.
   */
  async get(key: Omit<SessionKey, "expiration">): Promise<Credentials | undefined> {
    const prefix = sessionKeyPrefix(key);
    const current = await this.#removeOldFrom(await this.#keyring.keys());
    const found = current.find((k) => k.startsWith(prefix) && isSessionKey(k));
    if (!found) return undefined;
    const item = await this.#keyring.get(found);
    if (!item) return undefined;
    return decodeSessionData(new TextDecoder().decode(item.data));
  }

  /** Stores a session; its key's expiry is the credentials' expiration. */
  async set(key: Omit<SessionKey, "expiration">, creds: Credentials): Promise<void> {
    if (!creds.expiration) throw new Error("session credentials need an expiration");
    const prefix = sessionKeyPrefix(key);
    const current = await this.#removeOldFrom(await this.#keyring.keys());
    const previous = current.filter((k) => k.startsWith(prefix) && isSessionKey(k));
    const newKey = formatSessionKey({ ...key, expiration: creds.expiration });
    await this.#keyring.set(newItem({
      key: newKey,
      data: new TextEncoder().encode(encodeSessionData(creds)),
      label: `aws-vault session for ${key.profileName} (expires ${rfc3339(creds.expiration)})`,
      description: "aws-vault session",
    }));
    // Written first, removed second: a crash in between leaves an extra item, never none.
    for (const old of previous) if (old !== newKey) await this.#keyring.remove(old);
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
      else if (await this.#keyring.remove(k)) removed?.();
    }
    return left;
  }

  async #removeWhere(match: (key: string) => boolean): Promise<number> {
    let n = 0;
    for (const k of await this.#keyring.keys()) {
      if (match(k) && await this.#keyring.remove(k)) n++;
    }
    return n;
  }
}
