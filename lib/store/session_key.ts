/**
 * aws-vault's session item keys: `<Type>,<b64url profile>,<b64url mfa>,<expiry unix seconds>`
 * (base64url without padding), and the legacy forms older versions wrote.
 */
import { base64ToBytes, bytesToBase64Url } from "../encoding.ts";

/** The kinds of cached sessions aws-vault writes. */
export type SessionType =
  | "sts.GetSessionToken"
  | "sts.AssumeRole"
  | "sts.AssumeRoleWithWebIdentity"
  | "sso.GetRoleCredentials"
  | "credential_process";

/** A parsed session key. */
export interface SessionKey {
  type: SessionType | string;
  profileName: string;
  /** MFA serial for STS types, the SSO start URL for SSO, empty otherwise. */
  mfaSerial: string;
  /** When the session expires (whole seconds). */
  expiration: Date;
}

const SESSION_KEY = /^([^,]+),([^,]+),([^,]*),([0-9]+)$/;

/** Formats a session key as aws-vault does. */
export function formatSessionKey(key: SessionKey): string {
  return `${sessionKeyPrefix(key)}${Math.floor(key.expiration.getTime() / 1000)}`;
}

/** The part of a session key before the expiry, which lookups match on. */
export function sessionKeyPrefix(key: Omit<SessionKey, "expiration">): string {
  if (key.type === "" || key.type.includes(",")) {
    throw new Error(`invalid session type ${JSON.stringify(key.type)}`);
  }
  if (key.profileName === "") throw new Error("a session key needs a profile name");
  return `${key.type},${b64url(key.profileName)},${b64url(key.mfaSerial)},`;
}

/** Parses a current-format session key; undefined for anything else (including legacy keys). */
export function parseSessionKey(s: string): SessionKey | undefined {
  if (isLegacySessionKey(s)) return undefined;
  const m = SESSION_KEY.exec(s);
  if (!m) return undefined;
  const profileName = unb64url(m[2]);
  const mfaSerial = unb64url(m[3]);
  if (profileName === undefined || mfaSerial === undefined) return undefined;
  return { type: m[1], profileName, mfaSerial, expiration: new Date(Number(m[4]) * 1000) };
}

/**
 * The expiry (epoch milliseconds) a key of session shape names, without decoding the rest;
 * Infinity for any other key. Cheap enough to run over every key of a vault on each lookup.
 */
export function sessionKeyExpiry(s: string): number {
  const comma = s.lastIndexOf(",");
  if (comma < 0 || !SESSION_KEY.test(s)) return Infinity;
  return Number(s.slice(comma + 1)) * 1000;
}

/** Whether a key has the shape of a current-format session key. */
export function isSessionKey(s: string): boolean {
  return !isLegacySessionKey(s) && SESSION_KEY.test(s);
}

/**
 * Whether a key is one of the session formats older aws-vault versions wrote (v5
 * `session,<b64>,<b64>,<expiry>`, `session:<profile>:<mfa>:<expiry>`, v3/v4 `<x> session (<n>)`).
 */
export function isLegacySessionKey(s: string): boolean {
  return /^session,[^,]*,[^,]*,[0-9]+$/.test(s) ||
    /^session:.*:[0-9]+$/.test(s) ||
    / session \([0-9]+\)$/.test(s);
}

function b64url(text: string): string {
  return bytesToBase64Url(new TextEncoder().encode(text));
}

function unb64url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(base64ToBytes(text));
  } catch {
    return undefined;
  }
}
