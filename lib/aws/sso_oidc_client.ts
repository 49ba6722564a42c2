/**
 * The IAM Identity Center OIDC calls (RegisterClient, StartDeviceAuthorization, CreateToken)
 * behind a small interface, backed by `@aws-sdk/client-sso-oidc`, which is imported only when a
 * call is made.
 */
import { oneLine } from "../encoding.ts";
import { UserError } from "../errors.ts";
import { boundedRequests } from "./bounded_requests.ts";
import type { SdkPart } from "./sdk_parts.ts";

/** Where the OIDC service is. */
export interface OidcWhere {
  region: string;
  /** An endpoint URL override (`AWS_ENDPOINT_URL_SSO_OIDC`, `endpoint_url`). */
  endpoint?: string;
}

/** RegisterClient parameters. */
export interface RegisterClientInput {
  clientName: string;
  scopes: string[];
  grantTypes: string[];
  redirectUris?: string[];
  issuerUrl?: string;
}

/** A registered public client. */
export interface ClientRegistration {
  clientId: string;
  clientSecret: string;
  /** When the client secret stops working. */
  expiresAt: Date;
}

/** StartDeviceAuthorization's reply. */
export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  /** Seconds the codes stay valid. */
  expiresIn: number;
  /** Seconds to wait between polls. */
  interval?: number;
}

/** CreateToken parameters (one grant type's fields). */
export interface CreateTokenInput {
  clientId: string;
  clientSecret: string;
  grantType: string;
  deviceCode?: string;
  code?: string;
  redirectUri?: string;
  codeVerifier?: string;
  refreshToken?: string;
}

/** CreateToken's reply. */
export interface CreatedToken {
  accessToken: string;
  tokenType?: string;
  /** Seconds the access token lives. */
  expiresIn: number;
  refreshToken?: string;
  idToken?: string;
}

/** The OIDC calls. */
export interface OidcClient {
  registerClient(input: RegisterClientInput): Promise<ClientRegistration>;
  startDeviceAuthorization(
    input: { clientId: string; clientSecret: string; startUrl: string },
  ): Promise<DeviceAuthorization>;
  createToken(input: CreateTokenInput): Promise<CreatedToken>;
}

/** Builds an OIDC client for a region; tests pass their own. */
export type OidcClientFactory = (where: OidcWhere) => OidcClient;

/** An OIDC call that failed; `code` is the service's exception name or `NetworkError`. */
export class OidcError extends UserError {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = "OidcError";
    this.code = code;
  }
}

/** Options for the SDK-backed clients (OIDC and portal). */
export interface SdkOidcOptions {
  maxAttempts?: number;
  /** Each request's limit (default 30 s). */
  requestTimeoutMs?: number;
  debug?: (message: string) => void;
}

/** The real OIDC client factory. */
export function sdkOidcClientFactory(options: SdkOidcOptions = {}): OidcClientFactory {
  return (where) => {
    const describe = where.endpoint ?? `sso-oidc (${where.region})`;
    const send = async <T>(call: string, make: (sdk: OidcSdk) => unknown): Promise<T> => {
      const sdk: OidcSdk = await import("@aws-sdk/client-sso-oidc");
      const client = new sdk.SSOOIDCClient({
        region: where.region,
        endpoint: where.endpoint,
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: boundedRequests(options.requestTimeoutMs),
      });
      options.debug?.(`calling sso-oidc:${call} at ${describe}`);
      try {
        // deno-lint-ignore no-explicit-any
        return await client.send(make(sdk) as any) as T;
      } catch (err) {
        throw toOidcError(call, describe, err);
      } finally {
        client.destroy();
      }
    };
    return {
      async registerClient(input) {
        const out = await send<{
          clientId?: string;
          clientSecret?: string;
          clientSecretExpiresAt?: number;
        }>("RegisterClient", (sdk) =>
          new sdk.RegisterClientCommand({
            clientName: input.clientName,
            clientType: "public",
            scopes: input.scopes.length > 0 ? input.scopes : undefined,
            grantTypes: input.grantTypes,
            redirectUris: input.redirectUris,
            issuerUrl: input.issuerUrl,
          }));
        if (!out.clientId || !out.clientSecret) {
          throw new OidcError("sso-oidc:RegisterClient returned no client", "InvalidResponse");
        }
        return {
          clientId: out.clientId,
          clientSecret: out.clientSecret,
          expiresAt: new Date((out.clientSecretExpiresAt ?? 0) * 1000),
        };
      },
      async startDeviceAuthorization(input) {
        const out = await send<Partial<DeviceAuthorization>>(
          "StartDeviceAuthorization",
          (sdk) => new sdk.StartDeviceAuthorizationCommand(input),
        );
        if (!out.deviceCode || !out.userCode || !out.verificationUri) {
          throw new OidcError(
            "sso-oidc:StartDeviceAuthorization returned no device code",
            "InvalidResponse",
          );
        }
        return {
          deviceCode: out.deviceCode,
          userCode: out.userCode,
          verificationUri: out.verificationUri,
          verificationUriComplete: out.verificationUriComplete,
          expiresIn: out.expiresIn ?? 600,
          interval: out.interval,
        };
      },
      async createToken(input) {
        const out = await send<Partial<CreatedToken>>(
          "CreateToken",
          (sdk) => new sdk.CreateTokenCommand(input),
        );
        if (!out.accessToken) {
          throw new OidcError("sso-oidc:CreateToken returned no access token", "InvalidResponse");
        }
        return {
          accessToken: out.accessToken,
          tokenType: out.tokenType,
          expiresIn: out.expiresIn ?? 0,
          refreshToken: out.refreshToken || undefined,
          idToken: out.idToken || undefined,
        };
      },
    };
  };
}

type OidcSdk = SdkPart<"@aws-sdk/client-sso-oidc">;

/** One line naming the call and the endpoint; never the request (it carries secrets). */
export function toOidcError(call: string, endpoint: string, err: unknown): OidcError {
  const { code, message, network } = describeAwsError(err);
  if (network) {
    return new OidcError(
      `sso-oidc:${call} failed: cannot reach ${endpoint} (${message})`,
      "NetworkError",
    );
  }
  return new OidcError(`sso-oidc:${call} failed: ${code}: ${message}`, code);
}

/** The code and one-line message of an SDK or network error. */
export function describeAwsError(
  err: unknown,
): { code: string; message: string; network: boolean } {
  const e = err as {
    name?: string;
    Code?: string;
    message?: string;
    code?: string;
    error_description?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const code = e?.Code ?? (e?.name && e.name !== "Error" ? e.name : undefined);
  const text = e?.error_description || e?.message || String(err);
  // deno-lint-ignore no-control-regex
  const message = oneLine(text, 512).replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  const network = /^(TimeoutError|RequestTimeout)/.test(code ?? "") || (!!e?.code &&
    /^(ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EAI_AGAIN)$/.test(e.code)) ||
    (/connect|network|dns|fetch failed|socket/i.test(message) && !e?.$metadata?.httpStatusCode &&
      !code?.endsWith("Exception"));
  return { code: code ?? "Error", message, network };
}
