/**
 * A local console federation endpoint (the `AWS_VAULT_SIGNIN_ENDPOINT` of tests): answers
 * `getSigninToken` only for a well-formed `Session` JSON whose credentials the test STS issued
 * and still accepts, checks `SessionDuration`, and returns a `SigninToken`.
 */
import type { TestSts } from "./test_sts.ts";

/** One getSigninToken request that was answered. */
export interface SigninRequest {
  session: { sessionId: string; sessionKey: string; sessionToken: string };
  sessionDuration?: number;
  /** The token handed out. */
  token: string;
}

/** A running federation endpoint. */
export class TestSignin {
  readonly requests: SigninRequest[] = [];
  /** Requests refused, with the reason. */
  readonly refused: string[] = [];
  /** Served instead of a reply to the next requests: an HTTP status, or a raw body. */
  readonly faults: ({ status: number } | { body: string })[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #sts?: TestSts;
  #n = 0;

  constructor(sts?: TestSts) {
    this.#sts = sts;
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  /** The endpoint URL, `http://127.0.0.1:<port>/federation`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/federation`;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  #refuse(why: string): Response {
    this.refused.push(why);
    return new Response(`refused: ${why}`, { status: 400 });
  }

  #handle(req: Request): Response {
    const url = new URL(req.url);
    if (url.pathname !== "/federation" || req.method !== "GET") {
      return new Response("not found", { status: 404 });
    }
    const fault = this.faults.shift();
    if (fault && "status" in fault) return new Response("fault", { status: fault.status });
    if (fault) return new Response(fault.body, { headers: { "content-type": "application/json" } });
    const q = url.searchParams;
    if (q.get("Action") !== "getSigninToken") return this.#refuse(`Action ${q.get("Action")}`);
    const allowed = new Set(["Action", "Session", "SessionDuration", "SessionType"]);
    for (const k of q.keys()) if (!allowed.has(k)) return this.#refuse(`unknown parameter ${k}`);
    let session: Record<string, unknown>;
    try {
      session = JSON.parse(q.get("Session") ?? "");
    } catch {
      return this.#refuse("Session is not JSON");
    }
    const keys = Object.keys(session).sort().join(",");
    if (keys !== "sessionId,sessionKey,sessionToken") return this.#refuse(`Session keys ${keys}`);
    const { sessionId, sessionKey, sessionToken } = session as Record<string, string>;
    if (![sessionId, sessionKey, sessionToken].every((v) => typeof v === "string" && v)) {
      return this.#refuse("Session values must be non-empty strings");
    }
    if (
      this.#sts &&
      !this.#sts.accepts({ accessKeyId: sessionId, secretAccessKey: sessionKey, sessionToken })
    ) {
      return this.#refuse(`credentials ${sessionId} were not issued by the test STS`);
    }
    let sessionDuration: number | undefined;
    if (q.has("SessionDuration")) {
      sessionDuration = Number(q.get("SessionDuration"));
      if (!Number.isInteger(sessionDuration) || sessionDuration < 900 || sessionDuration > 43200) {
        return this.#refuse(`SessionDuration ${q.get("SessionDuration")}`);
      }
      const issuedBy = this.#sts?.sessionInfo(sessionId)?.issuedBy;
      if (issuedBy === "GetFederationToken") {
        return this.#refuse("SessionDuration with GetFederationToken credentials");
      }
    }
    const token = `test-signin-token-${++this.#n}-${crypto.randomUUID()}`;
    this.requests.push({
      session: { sessionId, sessionKey, sessionToken },
      sessionDuration,
      token,
    });
    return Response.json({ SigninToken: token });
  }
}
