/**
 * The ECS container-credentials server of `exec --ecs-server` (reference 3.7): 127.0.0.1 at a
 * random port, every request must carry the token in `Authorization`. `GET /` serves the exec
 * profile, `/role-arn/<arn>` a role assumed from it, `/profile/<name>` any configured profile.
 */
import { rfc3339 } from "../rfc3339.ts";
import type { Credentials } from "../credentials.ts";
import { type HttpLimits, type HttpReply, type HttpRequest, serveHttp } from "./http1.ts";
import { constantTimeEqual, isLoopback, randomToken } from "./guard.ts";
import { CredentialsUnavailable, type ServedCredentials } from "./refreshing_credentials.ts";

/** What the server serves. */
export interface EcsServerOptions {
  /** The profile of the exec command. */
  base: ServedCredentials;
  /** A source per profile name; undefined for a name that is not configured. */
  profile?: (name: string) => ServedCredentials | undefined;
  /** A source per role ARN (assumed from the base credentials); undefined refuses the ARN. */
  roleArn?: (arn: string) => ServedCredentials | undefined;
  /** The token clients must send; a fresh random one by default. */
  token?: string;
  /** 127.0.0.1 unless a test says otherwise. */
  hostname?: string;
  port?: number;
  log?: (line: string) => void;
  limits?: Partial<HttpLimits>;
}

/** A running ECS server. */
export interface EcsServer {
  /** `AWS_CONTAINER_CREDENTIALS_FULL_URI` for the child. */
  url: string;
  /** `AWS_CONTAINER_AUTHORIZATION_TOKEN` for the child. */
  token: string;
  close(): Promise<void>;
}

const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };

/** Starts the server. */
export function startEcsServer(options: EcsServerOptions): EcsServer {
  const token = options.token ?? randomToken();
  const server = serveHttp({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    limits: options.limits,
    log: options.log,
    handler: (req) => handle(req, token, options),
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    token,
    close: () => server.close(),
  };
}

async function handle(req: HttpRequest, token: string, o: EcsServerOptions): Promise<HttpReply> {
  if (!isLoopback(req.remote.hostname)) {
    return message(403, "Access denied from non-localhost address");
  }
  if (!constantTimeEqual(req.headers.get("authorization") ?? "", token)) {
    return message(403, "invalid Authorization token");
  }
  if (req.method !== "GET" && req.method !== "HEAD") return message(405, "method not allowed");
  let source: ServedCredentials | undefined = o.base;
  for (const [prefix, lookup] of [["/role-arn/", o.roleArn], ["/profile/", o.profile]] as const) {
    if (!req.path.startsWith(prefix)) continue;
    let name: string;
    try {
      name = decodeURIComponent(req.path.slice(prefix.length));
    } catch {
      return message(400, "malformed path");
    }
    source = lookup?.(name);
    if (!source) return message(404, `no such ${prefix === "/profile/" ? "profile" : "role"}`);
  }
  let creds: Credentials;
  try {
    creds = await source.get();
  } catch (err) {
    const status = err instanceof CredentialsUnavailable ? 503 : 500;
    return message(status, (err as Error).message);
  }
  return {
    status: 200,
    headers: JSON_TYPE,
    body: JSON.stringify({
      AccessKeyId: creds.accessKeyId,
      SecretAccessKey: creds.secretAccessKey,
      Token: creds.sessionToken ?? "",
      Expiration: creds.expiration ? rfc3339(creds.expiration) : undefined,
    }),
  };
}

function message(status: number, text: string): HttpReply {
  return { status, headers: JSON_TYPE, body: JSON.stringify({ Message: text }) };
}
