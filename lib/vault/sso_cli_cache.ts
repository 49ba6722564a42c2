/**
 * Copies a profile's SSO token from the vault to the AWS CLI's cache file, so that a child
 * started with `AWS_PROFILE` (`exec --profile-env`) or any other tool can use the sign-in.
 */
import type { ProfileConfig } from "../config/profile.ts";
import { writeAwsCliSsoCache } from "../store/aws_cli_sso_cache.ts";
import type { SsoTokenStore } from "./sso_token.ts";

/** The SSO profile a chain gets its credentials from, if any. */
export function ssoProfileOf(profile: ProfileConfig): ProfileConfig | undefined {
  for (let p: ProfileConfig | undefined = profile; p; p = p.sourceProfile) {
    if (p.ssoStartUrl && p.ssoRegion) return p;
  }
  return undefined;
}

/** Writes the cache file of the profile's SSO session; returns its path, or undefined. */
export async function syncAwsCliSsoCache(
  profile: ProfileConfig,
  store: SsoTokenStore,
  homeDir: string,
): Promise<string | undefined> {
  const sso = ssoProfileOf(profile);
  if (!sso) return undefined;
  const record = await store.getRecord(sso.ssoStartUrl!);
  if (!record) return undefined;
  return await writeAwsCliSsoCache(homeDir, sso.ssoSession ?? sso.ssoStartUrl!, {
    startUrl: sso.ssoStartUrl!,
    region: sso.ssoRegion!,
    accessToken: record.token.accessToken,
    expiresAt: record.token.expiration,
    refreshToken: record.token.refreshToken,
    clientId: record.client?.clientId,
    clientSecret: record.client?.clientSecret,
    registrationExpiresAt: record.client?.expiresAt,
  });
}
