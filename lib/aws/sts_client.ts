/**
 * The STS calls aws-vault makes, behind a small interface. The AWS SDK is imported only when a
 * call is actually made, so commands served from the session cache never load it.
 */
import type { Credentials } from "../credentials.ts";
import { AwsError, toAwsError } from "./aws_error.ts";
import { resolveStsEndpoint, type StsEndpointOptions } from "./sts_endpoint.ts";

/** GetSessionToken parameters. */
export interface GetSessionTokenInput {
  durationSeconds: number;
  serialNumber?: string;
  tokenCode?: string;
}

/** AssumeRole parameters. */
export interface AssumeRoleInput {
  roleArn: string;
  roleSessionName: string;
  durationSeconds: number;
  externalId?: string;
  serialNumber?: string;
  tokenCode?: string;
  sessionTags?: Record<string, string>;
  transitiveTagKeys?: string[];
  sourceIdentity?: string;
}

/** GetFederationToken parameters. */
export interface GetFederationTokenInput {
  /** The federated user's name (2-32 characters of `[\w+=,.@-]`). */
  name: string;
  /** An inline session policy (JSON). */
  policy: string;
  durationSeconds: number;
}

/** Who a set of credentials belongs to (sts:GetCallerIdentity). */
export interface CallerIdentity {
  arn: string;
  account: string;
  userId: string;
}

/** An STS client bound to one set of credentials. */
export interface StsClient {
  getSessionToken(input: GetSessionTokenInput): Promise<Credentials>;
  assumeRole(input: AssumeRoleInput): Promise<Credentials>;
  getCallerIdentity(): Promise<CallerIdentity>;
  getFederationToken(input: GetFederationTokenInput): Promise<Credentials>;
}

/** Builds an STS client for these credentials; tests pass their own. */
export type StsClientFactory = (credentials: Credentials, where: StsEndpointOptions) => StsClient;

/** An STS call that AWS (or the network) refused; the message is safe to show. */
export class StsError extends AwsError {
  constructor(message: string, code: string, action = "") {
    super(message, { code, service: "sts", action });
    this.name = "StsError";
  }
}

/** Error codes that mean the credentials used to sign the call are no longer good. */
export const EXPIRED_CREDENTIAL_CODES: ReadonlySet<string> = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "RequestExpired",
]);

/** Options for the SDK-backed client. */
export interface SdkStsOptions {
  /** Total attempts per call, retries included (the SDK's standard retry, with backoff). */
  maxAttempts?: number;
  /** Writes a debug line (never given secrets). */
  debug?: (message: string) => void;
}

/** The real STS client factory, backed by `@aws-sdk/client-sts`. */
export function sdkStsClientFactory(options: SdkStsOptions = {}): StsClientFactory {
  return (credentials, where) => {
    const endpoint = resolveStsEndpoint(where);
    const describe = endpoint.endpoint ?? `sts (${endpoint.region})`;
    const send = async <T>(call: string, make: (sdk: StsSdk) => unknown): Promise<T> => {
      const sdk = await import("@aws-sdk/client-sts");
      const client = new sdk.STSClient({
        region: endpoint.region,
        endpoint: endpoint.endpoint,
        maxAttempts: options.maxAttempts ?? 3,
        credentials: {
          accessKeyId: credentials.accessKeyId,
          secretAccessKey: credentials.secretAccessKey,
          sessionToken: credentials.sessionToken,
        },
      });
      options.debug?.(`calling sts:${call} at ${describe}`);
      try {
        // deno-lint-ignore no-explicit-any
        return await client.send(make(sdk) as any) as T;
      } catch (err) {
        throw toAwsError("sts", call, describe, err, (m, code) => new StsError(m, code, call));
      } finally {
        client.destroy();
      }
    };
    return {
      async getSessionToken(input) {
        const out = await send<{ Credentials?: SdkCredentials }>(
          "GetSessionToken",
          (sdk) =>
            new sdk.GetSessionTokenCommand({
              DurationSeconds: input.durationSeconds,
              SerialNumber: input.serialNumber,
              TokenCode: input.tokenCode,
            }),
        );
        return fromSdk(out.Credentials, "GetSessionToken");
      },
      async assumeRole(input) {
        const tags = input.sessionTags ? Object.entries(input.sessionTags) : [];
        const out = await send<{ Credentials?: SdkCredentials }>(
          "AssumeRole",
          (sdk) =>
            new sdk.AssumeRoleCommand({
              RoleArn: input.roleArn,
              RoleSessionName: input.roleSessionName,
              DurationSeconds: input.durationSeconds,
              ExternalId: input.externalId,
              SerialNumber: input.serialNumber,
              TokenCode: input.tokenCode,
              Tags: tags.length > 0 ? tags.map(([Key, Value]) => ({ Key, Value })) : undefined,
              TransitiveTagKeys: input.transitiveTagKeys?.length
                ? input.transitiveTagKeys
                : undefined,
              SourceIdentity: input.sourceIdentity,
            }),
        );
        return fromSdk(out.Credentials, "AssumeRole");
      },
      async getCallerIdentity() {
        const out = await send<{ Arn?: string; Account?: string; UserId?: string }>(
          "GetCallerIdentity",
          (sdk) => new sdk.GetCallerIdentityCommand({}),
        );
        if (!out.Arn) {
          throw new StsError("sts:GetCallerIdentity returned no ARN", "InvalidResponse");
        }
        return { arn: out.Arn, account: out.Account ?? "", userId: out.UserId ?? "" };
      },
      async getFederationToken(input) {
        const out = await send<{ Credentials?: SdkCredentials }>(
          "GetFederationToken",
          (sdk) =>
            new sdk.GetFederationTokenCommand({
              Name: input.name,
              Policy: input.policy,
              DurationSeconds: input.durationSeconds,
            }),
        );
        return fromSdk(out.Credentials, "GetFederationToken");
      },
    };
  };
}

type StsSdk = typeof import("@aws-sdk/client-sts");

interface SdkCredentials {
  AccessKeyId?: string;
  SecretAccessKey?: string;
  SessionToken?: string;
  Expiration?: Date;
}

function fromSdk(c: SdkCredentials | undefined, call: string): Credentials {
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new StsError(`sts:${call} returned no credentials`, "InvalidResponse");
  }
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiration: new Date(c.Expiration),
  };
}
