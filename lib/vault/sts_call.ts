/**
 * What the STS-calling providers share: their source of credentials, where STS is, and the
 * retry when a cached source session turns out to be expired or revoked.
 */
import { AwsError } from "../aws/aws_error.ts";
import {
  EXPIRED_CREDENTIAL_CODES,
  type StsClient,
  type StsClientFactory,
} from "../aws/sts_client.ts";
import type { StsEndpointOptions } from "../aws/sts_endpoint.ts";
import type { MfaCodes, MfaRequest } from "../prompt/mfa.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";

/** A provider that can be told its last credentials were refused, and fetch new ones. */
export interface RefreshableProvider extends CredentialProvider {
  refresh(rejected: Credentials): Promise<Credentials>;
}

/** STS client construction for one call site. */
export interface StsTarget {
  clientFor: StsClientFactory;
  where: StsEndpointOptions;
}

/**
 * Calls `call` with an STS client signed by `source`'s credentials. The source is retrieved
 * first, so `call` can ask for an MFA code only once the source's own prompts (a passphrase, a
 * source session's MFA code) are done: a code is never typed, then left to age, for a call
 * that cannot be made. If STS says those
 * credentials are expired or invalid and `source` can refresh (a cached session expired
 * mid-use), it refreshes once and calls again.
 */
export async function withSourceCredentials<T>(
  source: CredentialProvider,
  sts: StsTarget,
  call: (client: StsClient) => Promise<T>,
): Promise<T> {
  const creds = await source.retrieve();
  try {
    return await call(sts.clientFor(creds, sts.where));
  } catch (err) {
    const refreshable = "refresh" in source && typeof source.refresh === "function";
    if (!(err instanceof AwsError) || !EXPIRED_CREDENTIAL_CODES.has(err.code) || !refreshable) {
      throw err;
    }
    const fresh = await (source as RefreshableProvider).refresh(creds);
    return await call(sts.clientFor(fresh, sts.where));
  }
}

/** Whole seconds for STS (which wants seconds), from milliseconds. */
export function toSeconds(ms: number): number {
  return Math.round(ms / 1000);
}

/**
 * The MFA code of one STS call, asked for on first use and reused if the call is retried after
 * a source refresh (STS refused the signature, so it never consumed the code).
 */
export function mfaCodeOnce(
  mfa: { request: MfaRequest; codes: MfaCodes } | undefined,
): () => Promise<string | undefined> {
  let code: Promise<string> | undefined;
  return () => mfa ? (code ??= mfa.codes.code(mfa.request)) : Promise.resolve(undefined);
}
