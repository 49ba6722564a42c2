/**
 * One error type for every AWS call (STS, IAM, the console federation endpoint): the service,
 * the call, AWS's error code and a one-line message that is safe to show (SDK messages never
 * carry secrets; we never put request parameters in them).
 */
import { oneLine } from "../encoding.ts";
import { UserError } from "../errors.ts";

/** An AWS call that AWS (or the network) refused. */
export class AwsError extends UserError {
  /** The AWS error code (`AccessDenied`, `LimitExceeded`, ...) or `NetworkError`. */
  readonly code: string;
  /** `sts`, `iam`, `signin`. */
  readonly service: string;
  /** The API action, e.g. `CreateAccessKey`. */
  readonly action: string;
  constructor(message: string, fields: { code: string; service: string; action: string }) {
    super(message);
    this.name = "AwsError";
    this.code = fields.code;
    this.service = fields.service;
    this.action = fields.action;
  }
}

/** Codes that mean the signing credentials are not (or no longer, or not yet) good. */
export const INVALID_CREDENTIAL_CODES: ReadonlySet<string> = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "RequestExpired",
  "SignatureDoesNotMatch",
  "AuthFailure",
  "UnrecognizedClientException",
]);

const NETWORK_CODES = /^(ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EAI_AGAIN|EPIPE)$/;

/** The parts of an SDK or network error that an AwsError keeps. */
export function describeSdkError(
  err: unknown,
  endpoint: string,
): { code: string; detail: string } {
  const e = err as { name?: string; Code?: string; message?: string; code?: string };
  const code = e?.Code ?? (e?.name && e.name !== "Error" ? e.name : undefined);
  const message = oneLine(e?.message ?? String(err));
  if (e?.name === "ResponseTooLarge") {
    return { code: "ResponseTooLarge", detail: `${endpoint}: ${message}` };
  }
  if (
    e?.name === "TimeoutError" || e?.name === "AbortError" || e?.code === "ETIMEDOUT" ||
    /timed? ?out|aborted/i.test(message)
  ) {
    return { code: "Timeout", detail: `${endpoint} did not answer in time` };
  }
  if (e?.code && NETWORK_CODES.test(e.code)) {
    return { code: "NetworkError", detail: `cannot reach ${endpoint} (${e.code})` };
  }
  if (/connect|network|dns|fetch failed|socket/i.test(message) && !code?.match(/^[A-Z]/)) {
    return { code: "NetworkError", detail: `cannot reach ${endpoint} (${message})` };
  }
  return { code: code ?? "Error", detail: `${code ?? "Error"}: ${message}` };
}

/** Turns an SDK error of `service:action` into an AwsError (or a subclass via `make`). */
export function toAwsError<E extends AwsError = AwsError>(
  service: string,
  action: string,
  endpoint: string,
  err: unknown,
  make: (message: string, code: string) => E = (message, code) =>
    new AwsError(message, { code, service, action }) as E,
): E {
  if (err instanceof AwsError) return err as E;
  const { code, detail } = describeSdkError(err, endpoint);
  return make(`${service}:${action} failed: ${detail}`, code);
}
