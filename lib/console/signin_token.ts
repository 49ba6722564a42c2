/**
 * The federation endpoint's getSigninToken call: credentials in, a sign-in token out. The
 * request URL carries the secret key, so no message, log line or error ever includes it.
 */
import { AwsError } from "../aws/aws_error.ts";
import type { Credentials } from "../credentials.ts";
import { signinTokenUrl } from "./signin_url.ts";

/** How long the endpoint may take, and how much it may send. */
const TIMEOUT_MS = 30_000;
const MAX_REPLY_BYTES = 64 * 1024;

/** Options of one call. */
export interface SigninTokenOptions {
  /** Console session length, where AWS accepts one (role sessions). */
  sessionDurationSeconds?: number;
  /** The HTTP client (tests and the runtime pass `fetch`). */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** Asks the federation endpoint for a sign-in token for these temporary credentials. */
export async function getSigninToken(
  federationUrl: string,
  creds: Credentials,
  options: SigninTokenOptions = {},
): Promise<string> {
  if (!creds.sessionToken) {
    throw new Error("getSigninToken needs temporary credentials");
  }
  const where = new URL(federationUrl).host;
  const fail = (detail: string, code: string) =>
    new AwsError(`signin:getSigninToken at ${where} failed: ${detail}`, {
      code,
      service: "signin",
      action: "getSigninToken",
    });
  const url = signinTokenUrl(federationUrl, {
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken,
  }, options.sessionDurationSeconds);
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, {
      signal: AbortSignal.timeout(options.timeoutMs ?? TIMEOUT_MS),
      redirect: "error",
    });
  } catch (err) {
    // Fetch errors may quote the URL; say only what kind of failure it was.
    const name = (err as Error)?.name ?? "Error";
    const why = name === "TimeoutError" ? "no reply in time" : `cannot reach it (${name})`;
    throw fail(why, "NetworkError");
  }
  const body = await readLimited(res, MAX_REPLY_BYTES);
  if (!res.ok) {
    throw fail(`HTTP ${res.status}`, `HTTP${res.status}`);
  }
  if (body === undefined) throw fail("the reply is too large", "InvalidResponse");
  let token: unknown;
  try {
    token = (JSON.parse(body) as { SigninToken?: unknown })?.SigninToken;
  } catch {
    throw fail("the reply is not JSON", "InvalidResponse");
  }
  if (typeof token !== "string" || token === "") {
    throw fail("the reply has no SigninToken", "InvalidResponse");
  }
  return token;
}

/** The body as text, or undefined when it is longer than `max` bytes. */
async function readLimited(res: Response, max: number): Promise<string | undefined> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}
