/**
 * The EC2 instance-metadata server of `exec --ec2-server` (reference 3.6), with IMDSv2 as well
 * as v1: `PUT /latest/api/token` issues a session token for a TTL; once any token was issued,
 * every request needs a valid one (a client that can do v2 cannot be downgraded). Tokens are
 * stateless (an HMAC over the expiry, keyed per server), so no request can grow our memory.
 * Only local peers are served, and the Host header must name the address we listen on (the
 * DNS-rebinding defence: a web page cannot make a browser send that Host).
 */
import { rfc3339 } from "../rfc3339.ts";
import { base64ToBytes, bytesToBase64Url } from "../encoding.ts";
import { isLoopback } from "./guard.ts";
import { type HttpLimits, type HttpReply, type HttpRequest, serveHttp } from "./http1.ts";
import { CredentialsUnavailable, type ServedCredentials } from "./refreshing_credentials.ts";

/** The address SDKs look for instance metadata at. */
export const EC2_METADATA_ADDR = "169.254.169.254:80";
/** The role name we serve (aws-vault's). */
export const ROLE_NAME = "local-credentials";
const MAX_TOKEN_TTL_S = 21600;
const TOKEN_PATH = "/latest/api/token";
const CREDS_PATH = "/latest/meta-data/iam/security-credentials/";

/** What the server serves. */
export interface Ec2ServerOptions {
  source: ServedCredentials;
  /** Where to listen. */
  hostname: string;
  port: number;
  /** Host headers accepted besides the listen address (the public address behind a proxy). */
  extraHosts?: string[];
  region?: string;
  now: () => Date;
  log?: (line: string) => void;
  limits?: Partial<HttpLimits>;
}

/** A running EC2 metadata server. */
export interface Ec2Server {
  addr: Deno.NetAddr;
  close(): Promise<void>;
}

/** Parses `host:port` (`[v6]:port` too) as `AWS_VAULT_EC2_SERVER_ADDR` gives it. */
export function parseListenAddr(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new Error(`invalid address '${text}': expected host:port, e.g. 127.0.0.1:8080`);
  }
  return { hostname: m[1] ?? m[2], port };
}

/** The Host header values that name host:port. */
export function hostNames(hostname: string, port: number): string[] {
  const h = hostname.includes(":") ? `[${hostname}]` : hostname;
  return port === 80 ? [h, `${h}:80`] : [`${h}:${port}`];
}

/** Starts the server. */
export async function startEc2Server(options: Ec2ServerOptions): Promise<Ec2Server> {
  const key = await crypto.subtle.importKey(
    "raw",
    crypto.getRandomValues(new Uint8Array(32)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  const state = { key, tokenIssued: false, hosts: new Set<string>() };
  const server = serveHttp({
    hostname: options.hostname,
    port: options.port,
    limits: options.limits,
    log: options.log,
    handler: (req) => handle(req, state, options),
  });
  for (const h of [...hostNames(options.hostname, server.addr.port), ...options.extraHosts ?? []]) {
    state.hosts.add(h.toLowerCase());
  }
  return { addr: server.addr, close: () => server.close() };
}

interface State {
  key: CryptoKey;
  tokenIssued: boolean;
  hosts: Set<string>;
}

async function handle(req: HttpRequest, state: State, o: Ec2ServerOptions): Promise<HttpReply> {
  const peer = req.remote.hostname;
  if (!isLoopback(peer) && peer !== o.hostname) {
    return text(401, "Access denied from non-localhost address");
  }
  const host = (req.headers.get("host") ?? "").toLowerCase();
  if (!state.hosts.has(host)) return text(401, "Access denied for this Host header");
  if (req.path === TOKEN_PATH) {
    if (req.method !== "PUT") return text(405, "method not allowed");
    // Real IMDS refuses tokens through a proxy (a server-side request forgery defence).
    if (req.headers.has("x-forwarded-for")) return text(403, "Forbidden");
    const ttlText = req.headers.get("x-aws-ec2-metadata-token-ttl-seconds") ?? "";
    const ttl = /^\d{1,5}$/.test(ttlText) ? Number(ttlText) : 0;
    if (ttl < 1 || ttl > MAX_TOKEN_TTL_S) return text(400, "invalid token TTL");
    state.tokenIssued = true;
    return {
      status: 200,
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": String(ttl) },
      body: await issueToken(state.key, o.now().getTime() + ttl * 1000),
    };
  }
  if (req.method !== "GET" && req.method !== "HEAD") return text(405, "method not allowed");
  const token = req.headers.get("x-aws-ec2-metadata-token");
  if (token !== null || state.tokenIssued) {
    if (token === null || !(await tokenValid(state.key, token, o.now().getTime()))) {
      return text(401, "Unauthorized");
    }
  }
  const path = req.path.endsWith("/") ? req.path : `${req.path}/`;
  switch (path) {
    case CREDS_PATH:
      return text(200, ROLE_NAME);
    case `${CREDS_PATH}${ROLE_NAME}/`:
      return await credentials(o);
    case "/latest/meta-data/instance-id/":
      return text(200, "aws-vault");
    case "/latest/meta-data/iam/info/":
      return json(200, { Code: "Success", LastUpdated: rfc3339(o.now()) });
    case "/latest/meta-data/placement/region/":
      return o.region ? text(200, o.region) : text(404, "Not Found");
    case "/latest/dynamic/instance-identity/document/":
      return json(200, { region: o.region ?? "" });
    default:
      return text(404, "Not Found");
  }
}

async function credentials(o: Ec2ServerOptions): Promise<HttpReply> {
  try {
    const c = await o.source.get();
    return json(200, {
      Code: "Success",
      LastUpdated: rfc3339(o.now()),
      Type: "AWS-HMAC",
      AccessKeyId: c.accessKeyId,
      SecretAccessKey: c.secretAccessKey,
      Token: c.sessionToken ?? "",
      Expiration: c.expiration ? rfc3339(c.expiration) : undefined,
    });
  } catch (err) {
    return text(err instanceof CredentialsUnavailable ? 503 : 504, (err as Error).message);
  }
}

const encoder = new TextEncoder();

async function issueToken(key: CryptoKey, expiresMs: number): Promise<string> {
  const payload = String(expiresMs);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(payload)));
  return `${payload}.${bytesToBase64Url(mac)}`;
}

async function tokenValid(key: CryptoKey, token: string, nowMs: number): Promise<boolean> {
  const m = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return false;
  const mac = new Uint8Array(base64ToBytes(m[2]));
  // One spelling per token: the last character's unused bits must be zero, as we wrote them.
  if (bytesToBase64Url(mac) !== m[2]) return false;
  // crypto.subtle.verify compares in constant time.
  const ok = await crypto.subtle.verify("HMAC", key, mac, encoder.encode(m[1]));
  return ok && Number(m[1]) > nowMs;
}

function text(status: number, body: string): HttpReply {
  return { status, body };
}

function json(status: number, value: unknown): HttpReply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(value) };
}
