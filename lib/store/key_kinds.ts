/**
 * What a keyring key names, told from the key alone: long-term credentials, a cached session
 * (session_key.ts) or an SSO OIDC token. `list` sorts a vault's keys with this, without loading
 * the stores that read and write the items (credentials.ts, oidc_tokens.ts).
 */
import { isLegacySessionKey, isSessionKey } from "./session_key.ts";

/** Key prefix of OIDC token items. */
export const OIDC_KEY_PREFIX = "oidc:";

/** Whether a keyring key names long-term credentials (not a session, not an OIDC token). */
export function isCredentialKey(key: string): boolean {
  return !isSessionKey(key) && !isLegacySessionKey(key) && !key.startsWith(OIDC_KEY_PREFIX);
}
