/**
 * The AWS CLI's and SDKs' SSO token cache, `~/.aws/sso/cache/<sha1 hex of the sso-session name
 * or start URL>.json`, for tools that read it themselves (`exec --profile-env`, `--sso-sync`).
 * A plaintext file by nature: written only when asked, mode 0600 in a 0700 directory, atomically.
 */
import { bytesToHex } from "../encoding.ts";
import { rfc3339 } from "../rfc3339.ts";
import { writeFileAtomic } from "../fs/atomic.ts";

/** What goes into one cache file. */
export interface AwsCliSsoCacheEntry {
  startUrl: string;
  region: string;
  accessToken: string;
  expiresAt: Date;
  refreshToken?: string;
  clientId?: string;
  clientSecret?: string;
  registrationExpiresAt?: Date;
}

/** The cache file of an sso-session name (or, for inline SSO profiles, the start URL). */
export async function awsCliSsoCachePath(homeDir: string, cacheKey: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-1", new TextEncoder().encode(cacheKey)),
  );
  return `${homeDir.replace(/\/+$/, "")}/.aws/sso/cache/${bytesToHex(digest)}.json`;
}

/** Writes (replaces) the cache file for `cacheKey`; returns its path. */
export async function writeAwsCliSsoCache(
  homeDir: string,
  cacheKey: string,
  entry: AwsCliSsoCacheEntry,
): Promise<string> {
  const path = await awsCliSsoCachePath(homeDir, cacheKey);
  const dir = path.slice(0, path.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const doc: Record<string, string> = {
    startUrl: entry.startUrl,
    region: entry.region,
    accessToken: entry.accessToken,
    expiresAt: rfc3339(entry.expiresAt),
  };
  if (entry.clientId && entry.clientSecret && entry.registrationExpiresAt) {
    doc.clientId = entry.clientId;
    doc.clientSecret = entry.clientSecret;
    doc.registrationExpiresAt = rfc3339(entry.registrationExpiresAt);
  }
  if (entry.refreshToken) doc.refreshToken = entry.refreshToken;
  await writeFileAtomic(path, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 });
  return path;
}
