/**
 * The STS calls aws-vault makes, behind a small interface. The AWS SDK is imported only when a
 * call is actually made, so commands served from the session cache never load it.
 */
import { UserError } from "../errors.ts";
import type { Credentials } from "../credentials.ts";
import { resolveStsEndpoint, type StsEndpointOptions } from "./sts_endpoint.ts";
import { oneLine } from "../encoding.ts";

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

/** An STS client bound to one set of credentials. */
export interface StsClient {
  getSessionToken(input: GetSessionTokenInput): Promise<Credentials>;
  assumeRole(input: AssumeRoleInput): Promise<Credentials>;
}

/** Builds an STS client for these credentials; tests pass their own. */
export type StsClientFactory = (credentials: Credentials, where: StsEndpointOptions) => StsClient;

/** An STS call that AWS (or the network) refused; the message is safe to show. */
export class StsError extends UserError {
  /** The AWS error code (`AccessDenied`, `ExpiredToken`, ...) or `NetworkError`. */
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = "StsError";
    this.code = code;
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
    const endpoint = resolveStsEndpoint(where);
    const describe = endpoint.endpoint ?? `sts (${endpoint.region})`;
    const send = async <T>(call: string, make: (sdk: StsSdk) => unknown): Promise<T> => {
      const sdk = await import("@aws-sdk/client-sts");
      const limits = { ...STS_LIMITS, ...options.limits };
      const client = new sdk.STSClient({
        region: endpoint.region,
        endpoint: endpoint.endpoint,
        maxAttempts: options.maxAttempts ?? 3,
        // The SDK's own handler settings; without throwOnRequestTimeout it only warns.
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
      });
      client.middlewareStack.add(limitResponseSize(limits.maxResponseBytes), {
        step: "deserialize",
        priority: "low", // innermost: it sees the raw reply before the SDK parses it
        name: "awsVaultResponseSizeLimit",
      });
      options.debug?.(`calling sts:${call} at ${describe}`);
      try {
        // deno-lint-ignore no-explicit-any
        return await client.send(make(sdk) as any, {
          abortSignal: AbortSignal.timeout(limits.callTimeoutMs),
        }) as T;
      } catch (err) {
        throw toStsError(call, describe, err);
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
    };
  };
}

type StsSdk = typeof import("@aws-sdk/client-sts");

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
function limitResponseSize(limit: number) {
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

/** Turns an SDK or network error into one line that names the call and the endpoint. */
function toStsError(call: string, endpoint: string, err: unknown): StsError {
  const e = err as { name?: string; Code?: string; message?: string; code?: string };
  const code = e?.Code ?? (e?.name && e.name !== "Error" ? e.name : undefined);
  const message = oneLine(e?.message ?? String(err));
  if (e?.name === "ResponseTooLarge") {
    return new StsError(`sts:${call} failed: ${endpoint}: ${message}`, "ResponseTooLarge");
  }
  if (
    e?.name === "TimeoutError" || e?.name === "AbortError" || e?.code === "ETIMEDOUT" ||
    /timed? ?out|aborted/i.test(message)
  ) {
    return new StsError(`sts:${call} failed: ${endpoint} did not answer in time`, "Timeout");
  }
  if (e?.code && /^(ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EAI_AGAIN)$/.test(e.code)) {
    return new StsError(`sts:${call} failed: cannot reach ${endpoint} (${e.code})`, "NetworkError");
  }
  if (/connect|network|dns|fetch failed|socket/i.test(message) && !code?.match(/^[A-Z]/)) {
    return new StsError(
      `sts:${call} failed: cannot reach ${endpoint} (${message})`,
      "NetworkError",
    );
  }
  return new StsError(`sts:${call} failed: ${code ?? "Error"}: ${message}`, code ?? "Error");
}
