/**
 * The OIDC client registration cache: a registration is reused (stored beside the token it
 * obtained) until shortly before it expires, for the same region, scopes and grant type, so a
 * sign-in does not register a new client every time as aws-vault does.
 */
import type { OidcClient } from "../aws/sso_oidc_client.ts";
import type { OidcClientRecord } from "../store/oidc_tokens.ts";

/** The name clients are registered under (shown by IAM Identity Center). */
export const CLIENT_NAME = "aws-vault";

/** Grant type of the device-code flow. */
export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/** A registration this close to expiry is replaced rather than used. */
const EXPIRY_MARGIN_MS = 15 * 60_000;

/** What a sign-in needs of a client. */
export interface WantedClient {
  region: string;
  scopes: string[];
  /** `authorization_code` or the device-code grant. */
  grantType: string;
  /** The start URL (the issuer of authorization-code clients). */
  startUrl: string;
}

/** Whether a stored registration serves `want` at `now`. */
export function registrationServes(
  client: OidcClientRecord | undefined,
  want: WantedClient,
  now: Date,
): client is OidcClientRecord {
  if (!client) return false;
  if (client.expiresAt.getTime() - now.getTime() < EXPIRY_MARGIN_MS) return false;
  if (client.region !== want.region) return false;
  if (!client.grantTypes.includes(want.grantType)) return false;
  return sameSet(client.scopes, want.scopes);
}

/** A stored registration that serves `want`, else a new one from RegisterClient. */
export async function ensureClient(
  oidc: OidcClient,
  cached: OidcClientRecord | undefined,
  want: WantedClient,
  options: { now: () => Date; debug: (message: string) => void },
): Promise<OidcClientRecord> {
  if (registrationServes(cached, want, options.now())) {
    options.debug(`reusing the OIDC client registration for ${want.startUrl}`);
    return cached;
  }
  const grantTypes = [want.grantType, "refresh_token"];
  const authCode = want.grantType === "authorization_code";
  const reg = await oidc.registerClient({
    clientName: CLIENT_NAME,
    scopes: want.scopes,
    grantTypes,
    // The loopback redirect may use any port (RFC 8252): the registration names none.
    redirectUris: authCode ? ["http://127.0.0.1/oauth/callback"] : undefined,
    issuerUrl: authCode ? want.startUrl : undefined,
  });
  options.debug(`registered an OIDC client for ${want.startUrl}`);
  return {
    clientId: reg.clientId,
    clientSecret: reg.clientSecret,
    expiresAt: reg.expiresAt,
    region: want.region,
    scopes: [...want.scopes],
    grantTypes,
  };
}

function sameSet(a: string[], b: string[]): boolean {
  const x = new Set(a);
  return x.size === new Set(b).size && b.every((s) => x.has(s));
}
