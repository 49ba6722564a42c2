/**
 * The IAM calls aws-vault makes (rotate, and login's user-name lookup), behind a small
 * interface. `@aws-sdk/client-iam` is imported only when a call is made.
 */
import type { Credentials } from "../credentials.ts";
import { AwsError, toAwsError } from "./aws_error.ts";
import { addResponseSizeLimit, boundedClientConfig, STS_LIMITS } from "./sts_client.ts";
import type { SdkPart } from "./sdk_parts.ts";

/** Where IAM calls go: a region (for its partition) and an optional `endpoint_url`. */
export interface IamEndpointOptions {
  region?: string;
  endpointUrl?: string;
}

/** An access key as IAM describes it (ListAccessKeys). */
export interface AccessKeyInfo {
  accessKeyId: string;
  status: string;
}

/** An IAM client bound to one set of credentials. */
export interface IamClient {
  /** The user name (and ARN) of `userName`, or of the signing user when omitted. */
  getUser(userName?: string): Promise<{ userName: string; arn: string }>;
  /** A new access key for the user; its secret exists only in this reply. */
  createAccessKey(userName: string): Promise<Credentials>;
  deleteAccessKey(accessKeyId: string, userName: string): Promise<void>;
  listAccessKeys(userName: string): Promise<AccessKeyInfo[]>;
}

/** Builds an IAM client for these credentials; tests pass their own. */
export type IamClientFactory = (credentials: Credentials, where: IamEndpointOptions) => IamClient;

/** Options for the SDK-backed client. */
export interface SdkIamOptions {
  maxAttempts?: number;
  debug?: (message: string) => void;
}

/** IAM is global per partition; the SDK maps any region of a partition to its endpoint. */
function iamRegion(region: string | undefined): string {
  const r = region?.trim();
  return r ? r : "us-east-1";
}

/** The real IAM client factory, backed by `@aws-sdk/client-iam`. */
export function sdkIamClientFactory(options: SdkIamOptions = {}): IamClientFactory {
  return (credentials, where) => {
    const region = iamRegion(where.region);
    const endpoint = where.endpointUrl?.trim() || undefined;
    const describe = endpoint ?? `iam (${region})`;
    const send = async <T>(call: string, make: (sdk: IamSdk) => unknown): Promise<T> => {
      const sdk: IamSdk = await import("@aws-sdk/client-iam");
      // The same bounds as STS: every wait and every reply size is bounded.
      const limits = STS_LIMITS;
      const client = new sdk.IAMClient({
        region,
        endpoint,
        ...boundedClientConfig(credentials, limits, options.maxAttempts),
      });
      addResponseSizeLimit(client, limits.maxResponseBytes);
      options.debug?.(`calling iam:${call} at ${describe}`);
      try {
        // deno-lint-ignore no-explicit-any
        return await client.send(make(sdk) as any, {
          abortSignal: AbortSignal.timeout(limits.callTimeoutMs),
        }) as T;
      } catch (err) {
        throw toAwsError("iam", call, describe, err);
      } finally {
        client.destroy();
      }
    };
    return {
      async getUser(userName) {
        const out = await send<{ User?: { UserName?: string; Arn?: string } }>(
          "GetUser",
          (sdk) => new sdk.GetUserCommand(userName ? { UserName: userName } : {}),
        );
        if (!out.User?.UserName) throw invalid("GetUser", "no user");
        return { userName: out.User.UserName, arn: out.User.Arn ?? "" };
      },
      async createAccessKey(userName) {
        const out = await send<{ AccessKey?: { AccessKeyId?: string; SecretAccessKey?: string } }>(
          "CreateAccessKey",
          (sdk) => new sdk.CreateAccessKeyCommand({ UserName: userName }),
        );
        const k = out.AccessKey;
        if (!k?.AccessKeyId || !k.SecretAccessKey) throw invalid("CreateAccessKey", "no key");
        return { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey };
      },
      async deleteAccessKey(accessKeyId, userName) {
        await send(
          "DeleteAccessKey",
          (sdk) => new sdk.DeleteAccessKeyCommand({ AccessKeyId: accessKeyId, UserName: userName }),
        );
      },
      async listAccessKeys(userName) {
        const out = await send<
          { AccessKeyMetadata?: { AccessKeyId?: string; Status?: string }[] }
        >("ListAccessKeys", (sdk) => new sdk.ListAccessKeysCommand({ UserName: userName }));
        return (out.AccessKeyMetadata ?? []).filter((k) => k.AccessKeyId).map((k) => ({
          accessKeyId: k.AccessKeyId!,
          status: k.Status ?? "",
        }));
      },
    };
  };
}

type IamSdk = SdkPart<"@aws-sdk/client-iam">;

function invalid(action: string, what: string): AwsError {
  return new AwsError(`iam:${action} returned ${what}`, {
    code: "InvalidResponse",
    service: "iam",
    action,
  });
}
