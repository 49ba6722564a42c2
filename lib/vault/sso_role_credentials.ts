/**
 * IAM Identity Center role credentials: GetRoleCredentials with the session's access token.
 * A stored token the portal refuses (401: revoked, signed out) is dropped and renewed once.
 */
import { SsoPortalError, type SsoPortalFactory } from "../aws/sso_client.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import type { SsoTokenSource } from "./sso_token.ts";

/** Settings of one SSO profile. */
export interface SsoRoleCredentialsOptions {
  tokens: SsoTokenSource;
  portal: SsoPortalFactory;
  accountId: string;
  roleName: string;
  /** A portal endpoint override (`AWS_ENDPOINT_URL_SSO`, `endpoint_url`). */
  portalEndpoint?: string;
}

/** Calls sso:GetRoleCredentials on every retrieve (wrap it in a CachedSessionProvider). */
export class SsoRoleCredentialsProvider implements CredentialProvider {
  readonly #o: SsoRoleCredentialsOptions;

  constructor(options: SsoRoleCredentialsOptions) {
    this.#o = options;
  }

  /** Role credentials from the portal. */
  async retrieve(): Promise<Credentials> {
    const o = this.#o;
    const portal = o.portal({ region: o.tokens.session.region, endpoint: o.portalEndpoint });
    const call = (accessToken: string) =>
      portal.getRoleCredentials({ accessToken, accountId: o.accountId, roleName: o.roleName });
    const token = await o.tokens.accessToken();
    try {
      return await call(token.accessToken);
    } catch (err) {
      if (
        !(err instanceof SsoPortalError) || err.code !== "UnauthorizedException" ||
        !token.fromCache
      ) {
        throw err;
      }
      const fresh = await o.tokens.refused(token.accessToken);
      return await call(fresh.accessToken);
    }
  }
}
