/**
 * The IAM Identity Center portal call aws-vault makes (GetRoleCredentials), backed by
 * `@aws-sdk/client-sso`, imported only when the call is made.
 */
import { UserError } from "../errors.ts";
import type { Credentials } from "../credentials.ts";
import { boundedRequests } from "./bounded_requests.ts";
import { describeAwsError, type OidcWhere, type SdkOidcOptions } from "./sso_oidc_client.ts";
import type { SdkPart } from "./sdk_parts.ts";

/** GetRoleCredentials parameters. */
export interface GetRoleCredentialsInput {
  accessToken: string;
  accountId: string;
  roleName: string;
}

/** The portal. */
export interface SsoPortal {
  getRoleCredentials(input: GetRoleCredentialsInput): Promise<Credentials>;
}

/** Builds a portal client for a region (same shape as the OIDC one); tests pass their own. */
export type SsoPortalFactory = (where: OidcWhere) => SsoPortal;

/** A portal call that failed; `code` is `UnauthorizedException` for a refused token. */
export class SsoPortalError extends UserError {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = "SsoPortalError";
    this.code = code;
  }
}

/** The real portal client factory. */
export function sdkSsoPortalFactory(options: SdkOidcOptions = {}): SsoPortalFactory {
  return (where) => ({
    async getRoleCredentials(input) {
      const describe = where.endpoint ?? `portal.sso (${where.region})`;
      const sdk: SsoSdk = await import("@aws-sdk/client-sso");
      const client = new sdk.SSOClient({
        region: where.region,
        endpoint: where.endpoint,
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: boundedRequests(options.requestTimeoutMs),
      });
      options.debug?.(`calling sso:GetRoleCredentials at ${describe}`);
      let out;
      try {
        out = await client.send(
          new sdk.GetRoleCredentialsCommand({
            accessToken: input.accessToken,
            accountId: input.accountId,
            roleName: input.roleName,
          }),
        );
      } catch (err) {
        const { code, message, network } = describeAwsError(err);
        if (network) {
          throw new SsoPortalError(
            `sso:GetRoleCredentials failed: cannot reach ${describe} (${message})`,
            "NetworkError",
          );
        }
        throw new SsoPortalError(`sso:GetRoleCredentials failed: ${code}: ${message}`, code);
      } finally {
        client.destroy();
      }
      const c = out.roleCredentials;
      if (!c?.accessKeyId || !c.secretAccessKey || !c.sessionToken || !c.expiration) {
        throw new SsoPortalError(
          "sso:GetRoleCredentials returned no credentials",
          "InvalidResponse",
        );
      }
      // The portal gives epoch milliseconds; anything else would surface later as a bare
      // "Invalid time value" from wherever the date is first written.
      const expiration = new Date(Number(c.expiration));
      if (Number.isNaN(expiration.getTime())) {
        throw new SsoPortalError(
          "sso:GetRoleCredentials returned an invalid expiration",
          "InvalidResponse",
        );
      }
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken,
        expiration,
      };
    },
  });
}

type SsoSdk = SdkPart<"@aws-sdk/client-sso">;
