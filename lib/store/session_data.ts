/**
 * The Data of a cached session item, as aws-vault writes it: the STS Credentials JSON (Go's
 * encoding, times in RFC 3339), and the Description that tells a session from a credential.
 */
import type { Credentials } from "../credentials.ts";
import { goJsonEscape, parseGoObject, stringField, timeField } from "../go_json.ts";
import { rfc3339Nano } from "../rfc3339.ts";

/**
 * Our field of a session's Data: a digest of the profile settings the session was made with
 * (lib/vault/cached_session.ts), so that a session of another role is never taken for this
 * profile's. aws-vault ignores fields it does not know, and writes none: a session without it
 * is used as aws-vault would.
 */
export const SETTINGS_FIELD = "AwsVaultSettingsDigest";

/**
 * Encodes session credentials as the STS Credentials JSON aws-vault stores, with the digest of
 * the settings they were made with, if given.
 */
export function encodeSessionData(creds: Credentials, settings?: string): string {
  if (!creds.expiration) throw new Error("session credentials need an expiration");
  return goJsonEscape(JSON.stringify({
    AccessKeyId: creds.accessKeyId,
    Expiration: rfc3339Nano(creds.expiration),
    SecretAccessKey: creds.secretAccessKey,
    SessionToken: creds.sessionToken ?? "",
    ...(settings !== undefined ? { [SETTINGS_FIELD]: settings } : {}),
  }));
}

/** The settings digest in session Data (SETTINGS_FIELD); undefined when it has none. */
export function sessionDataSettings(text: string): string | undefined {
  const fields = parseGoObject(text);
  return fields ? stringField(fields, SETTINGS_FIELD) : undefined;
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

/** Whether Data holds temporary credentials: a session token and an expiration. */
export function isSessionData(data: Uint8Array): boolean {
  const creds = decodeSessionData(new TextDecoder().decode(data));
  return creds?.sessionToken !== undefined && creds.expiration !== undefined;
}

/** The Description aws-vault gives session items: what tells a session from a credential. */
export const SESSION_DESCRIPTION = "aws-vault session";
