/**
 * What we keep in a keyring and how: long-term credentials, cached sessions, OIDC tokens
 * (all in aws-vault's formats). Atomic writes and locks are lib/fs.
 */
export { CredentialStore, decodeCredentialsData, encodeCredentialsData } from "./credentials.ts";
export { isCredentialKey, OIDC_KEY_PREFIX } from "./key_kinds.ts";
export {
  formatSessionKey,
  isLegacySessionKey,
  isSessionKey,
  parseSessionKey,
  type SessionKey,
  sessionKeyExpiry,
  sessionKeyPrefix,
  type SessionType,
} from "./session_key.ts";
export { decodeSessionData, encodeSessionData } from "./session_data.ts";
export { SessionStore } from "./sessions.ts";
export {
  decodeOidcRecord,
  decodeOidcTokenData,
  encodeOidcTokenData,
  type OidcClientRecord,
  type OidcRecord,
  type OidcToken,
  OidcTokenStore,
} from "./oidc_tokens.ts";
