/**
 * The client side of `/profile/<name>`: `aws-vault export` inside an `exec --ecs-server
 * --all-profiles` child asks the parent's server instead of the vault. Unlike an SDK it may
 * wait: it retries while the server answers "being refreshed" (an MFA prompt may be open).
 */
import { UserError } from "../errors.ts";
import type { Credentials } from "../credentials.ts";

/** The variable that tells `export` where the server is (set only for such children). */
export const SERVER_URL_VARIABLE = "AWS_VAULT_SERVER_URL";
const MAX_REPLY_BYTES = 64 * 1024;

/** Options of credentialsFromServer. */
export interface ServerClientOptions {
  /** How long to keep retrying while the server is fetching (default 2 minutes). */
  patienceMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Fetches a profile's credentials from the parent's server. */
export async function credentialsFromServer(
  url: string,
  token: string,
  profileName: string,
  options: ServerClientOptions = {},
): Promise<Credentials> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) {
    throw new UserError(`${SERVER_URL_VARIABLE} must be http://127.0.0.1:<port>`);
  }
  const sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const deadline = Date.now() + (options.patienceMs ?? 120_000);
  for (;;) {
    let res: Response;
    try {
      res = await fetch(`${url}/profile/${encodeURIComponent(profileName)}`, {
        headers: { authorization: token },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new UserError(`cannot reach the aws-vault server at ${url}: ${(err as Error).message}`);
    }
    const body = await readBounded(res);
    if (res.status === 503 && Date.now() < deadline) {
      await sleep(500);
      continue;
    }
    let data: Record<string, unknown> | null = null;
    try {
      data = JSON.parse(body);
    } catch {
      // said below
    }
    // `null`, a number or an array would otherwise surface as a bare TypeError.
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      throw new UserError(`the aws-vault server answered ${res.status} with no JSON object`);
    }
    if (res.status !== 200) {
      const why = typeof data.Message === "string" ? data.Message : `status ${res.status}`;
      throw new UserError(`the aws-vault server refused profile '${profileName}': ${why}`);
    }
    if (typeof data.AccessKeyId !== "string" || typeof data.SecretAccessKey !== "string") {
      throw new UserError("the aws-vault server answered without credentials");
    }
    const expiration = typeof data.Expiration === "string" ? new Date(data.Expiration) : undefined;
    // An expiration that is no time would fail later, as a bare "Invalid time value".
    if (expiration && Number.isNaN(expiration.getTime())) {
      throw new UserError("the aws-vault server answered an invalid expiration");
    }
    return {
      accessKeyId: data.AccessKeyId,
      secretAccessKey: data.SecretAccessKey,
      sessionToken: typeof data.Token === "string" && data.Token ? data.Token : undefined,
      expiration,
    };
  }
}

async function readBounded(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_REPLY_BYTES) {
      await reader.cancel();
      throw new UserError("the aws-vault server's reply is too large");
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return new TextDecoder().decode(all);
}
