/**
 * The STS calls aws-vault makes, behind a small interface. The AWS SDK is imported only when a
 * call is actually made, so commands served from the session cache never load it.
 */
import type { Credentials } from "../credentials.ts";
import { AwsError, toAwsError } from "./aws_error.ts";
import { resolveStsEndpoint, type StsEndpointOptions } from "./sts_endpoint.ts";
import type { SdkPart } from "./sdk_parts.ts";

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

/** Every network wait and reply size is bounded (design.md): the defaults. */
export const STS_LIMITS = {
  /** TCP (and TLS) connect, per attempt. */
  connectTimeoutMs: 5_000,
  /** From sending a request to its whole reply, per attempt. */
  requestTimeoutMs: 20_000,
  /** The whole call, retries included. */
  callTimeoutMs: 60_000,
  /** An STS reply is a few KB; anything past this is refused unread. */
  maxResponseBytes: 1024 * 1024,
};

/** Options for the SDK-backed client. */
export interface SdkStsOptions {
  /** Total attempts per call, retries included (the SDK's standard retry, with backoff). */
  maxAttempts?: number;
  /** Limits (STS_LIMITS unless given). */
  limits?: Partial<typeof STS_LIMITS>;
  /** Writes a debug line (never given secrets). */
  debug?: (message: string) => void;
}

/** The real STS client factory, backed by `@aws-sdk/client-sts`. */
export function sdkStsClientFactory(options: SdkStsOptions = {}): StsClientFactory {
  return (credentials, where) => {
    const send = stsSender(credentials, where, options);
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

/**
 * Sends STS calls from one client per call, to the endpoint `where` resolves to, signed with
 * `credentials` (empty ones for the unsigned calls); SDK errors become StsErrors.
 */
function stsSender(
  credentials: Credentials,
  where: StsEndpointOptions,
  options: SdkStsOptions,
): <T>(call: string, make: (sdk: StsSdk) => unknown) => Promise<T> {
  const endpoint = resolveStsEndpoint(where);
  const describe = endpoint.endpoint ?? `sts (${endpoint.region})`;
  return async <T>(call: string, make: (sdk: StsSdk) => unknown): Promise<T> => {
    const sdk: StsSdk = await import("@aws-sdk/client-sts");
    const limits = { ...STS_LIMITS, ...options.limits };
    const client = new sdk.STSClient({
      region: endpoint.region,
      endpoint: endpoint.endpoint,
      ...boundedClientConfig(credentials, limits, options.maxAttempts),
    });
    addResponseSizeLimit(client, limits.maxResponseBytes);
    options.debug?.(`calling sts:${call} at ${describe}`);
    try {
      // deno-lint-ignore no-explicit-any
      return await client.send(make(sdk) as any, {
        abortSignal: AbortSignal.timeout(limits.callTimeoutMs),
      }) as T;
    } catch (err) {
      throw toAwsError("sts", call, describe, err, (m, code) => new StsError(m, code, call));
    } finally {
      client.destroy();
    }
  };
}

type StsSdk = SdkPart<"@aws-sdk/client-sts">;

/**
 * The settings every SDK client of ours gets (STS, IAM): bounded connect and request times (the
 * SDK's own handler settings; without throwOnRequestTimeout it only warns), bounded retries, and
 * exactly these credentials.
 */
export function boundedClientConfig(
  credentials: Credentials,
  limits: typeof STS_LIMITS,
  maxAttempts = 3,
): {
  maxAttempts: number;
  requestHandler: {
    connectionTimeout: number;
    requestTimeout: number;
    throwOnRequestTimeout: true;
  };
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
} {
  return {
    maxAttempts,
    requestHandler: {
      connectionTimeout: limits.connectTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    },
  };
}

/** Puts the reply size limit innermost in an SDK client, so it sees the raw reply first. */
export function addResponseSizeLimit(
  // deno-lint-ignore no-explicit-any
  client: { middlewareStack: { add(middleware: any, options: any): void } },
  limit: number,
): void {
  client.middlewareStack.add(limitResponseSize(limit), {
    step: "deserialize",
    priority: "low",
    name: "awsVaultResponseSizeLimit",
  });
}

/** An STS reply larger than the limit. */
class ResponseTooLarge extends Error {
  constructor(limit: number) {
    super(`the reply is larger than ${limit} bytes; refused`);
    this.name = "ResponseTooLarge";
  }
}

/**
 * A middleware that reads the raw reply body itself, up to `limit` bytes (a declared
 * Content-Length past it is refused unread), and hands the SDK's parser the bytes.
 */
export function limitResponseSize(limit: number) {
  // deno-lint-ignore no-explicit-any
  return (next: (args: any) => Promise<any>) => async (args: unknown) => {
    const result = await next(args);
    const response = result?.response;
    const body = response?.body;
    if (!body || body instanceof Uint8Array) return result;
    const declared = Number(
      response.headers?.["content-length"] ?? response.headers?.["Content-Length"],
    );
    const destroy = () => (body as { destroy?: () => void }).destroy?.();
    if (Number.isFinite(declared) && declared > limit) {
      destroy();
      throw new ResponseTooLarge(limit);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
      const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
      size += bytes.length;
      if (size > limit) {
        destroy();
        throw new ResponseTooLarge(limit);
      }
      chunks.push(bytes);
    }
    const all = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    response.body = all;
    return result;
  };
}

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

/** AssumeRoleWithWebIdentity parameters. */
export interface AssumeRoleWithWebIdentityInput {
  roleArn: string;
  roleSessionName: string;
  durationSeconds: number;
  webIdentityToken: string;
}

/** STS calls that are not signed (the web identity token is the proof). */
export interface UnsignedStsClient {
  assumeRoleWithWebIdentity(input: AssumeRoleWithWebIdentityInput): Promise<Credentials>;
}

/** Builds an unsigned STS client; tests pass their own. */
export type UnsignedStsClientFactory = (where: StsEndpointOptions) => UnsignedStsClient;

/** The real unsigned STS client factory. */
export function sdkUnsignedStsClientFactory(options: SdkStsOptions = {}): UnsignedStsClientFactory {
  return (where) => ({
    async assumeRoleWithWebIdentity(input) {
      // The call is unsigned: empty credentials keep the SDK from looking for any elsewhere.
      const send = stsSender({ accessKeyId: "", secretAccessKey: "" }, where, options);
      const out = await send<{ Credentials?: SdkCredentials }>(
        "AssumeRoleWithWebIdentity",
        (sdk) =>
          new sdk.AssumeRoleWithWebIdentityCommand({
            RoleArn: input.roleArn,
            RoleSessionName: input.roleSessionName,
            DurationSeconds: input.durationSeconds,
            WebIdentityToken: input.webIdentityToken,
          }),
      );
      return fromSdk(out.Credentials, "AssumeRoleWithWebIdentity");
    },
  });
}
