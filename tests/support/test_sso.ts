/**
 * A local IAM Identity Center for tests (Deno.serve on 127.0.0.1:0): the OIDC service
 * (RegisterClient, StartDeviceAuthorization, CreateToken with the device-code, authorization-code
 * + PKCE and refresh-token grants) and the portal (GetRoleCredentials), in the REST-JSON wire
 * format the AWS SDK clients use, plus the two browser pages (`/authorize`, `/device`) a
 * stand-in browser approves or denies. Counts calls, injects faults, revokes tokens.
 */

/** One request the server received. */
export interface SsoCall {
  /** `RegisterClient`, `StartDeviceAuthorization`, `CreateToken`, `GetRoleCredentials`, `authorize`, `device`. */
  op: string;
  /** For CreateToken: the grant type. */
  grantType?: string;
  body: Record<string, unknown>;
}

/** A reply CreateToken (device code) gives instead of its normal one. */
export type TokenFault =
  | "authorization_pending"
  | "slow_down"
  | "expired_token"
  | "access_denied"
  | "server_error";

interface Client {
  secret: string;
  scopes: string[];
  grantTypes: string[];
  redirectUris: string[];
}

interface Device {
  clientId: string;
  userCode: string;
  decision: "pending" | "approved" | "denied";
  expired: boolean;
  used: boolean;
}

interface AuthCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  used: boolean;
}

interface Grant {
  clientId: string;
  expiresAt: number;
  revoked: boolean;
}

/** Credentials GetRoleCredentials handed out. */
export interface IssuedRoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  accountId: string;
  roleName: string;
}

const FAULTS: Record<TokenFault, [number, string, string]> = {
  authorization_pending: [400, "AuthorizationPendingException", "authorization_pending"],
  slow_down: [400, "SlowDownException", "slow_down"],
  expired_token: [400, "ExpiredTokenException", "expired_token"],
  access_denied: [400, "AccessDeniedException", "access_denied"],
  server_error: [500, "InternalServerException", "server_error"],
};

/** A running test IAM Identity Center. */
export class TestSso {
  readonly calls: SsoCall[] = [];
  /** Replies served to the next device-code CreateToken polls, in order. */
  readonly tokenFaults: TokenFault[] = [];
  /** Life of issued access tokens, in seconds. */
  accessTokenTtlSeconds = 8 * 3600;
  /** Life of client registrations, in seconds. */
  clientTtlSeconds = 90 * 86400;
  /** Polling interval StartDeviceAuthorization asks for, in seconds. */
  interval = 1;
  /** Role credentials issued, in order. */
  readonly issued: IssuedRoleCredentials[] = [];
  /** Called for each issued role credential (e.g. to make a test STS accept it). */
  onIssue?: (creds: IssuedRoleCredentials) => void;
  readonly #clients = new Map<string, Client>();
  readonly #devices = new Map<string, Device>();
  readonly #codes = new Map<string, AuthCode>();
  readonly #access = new Map<string, Grant>();
  readonly #refresh = new Map<string, Grant>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #n = 0;

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  /** The endpoint URL (`AWS_ENDPOINT_URL_SSO`, `AWS_ENDPOINT_URL_SSO_OIDC`). */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Calls of one operation (and grant type, for CreateToken). */
  callsOf(op: string, grantType?: string): SsoCall[] {
    return this.calls.filter((c) => c.op === op && (!grantType || c.grantType === grantType));
  }

  /** Number of OIDC calls (anything but GetRoleCredentials and the browser pages). */
  oidcCallCount(): number {
    return this.calls.filter((c) =>
      ["RegisterClient", "StartDeviceAuthorization", "CreateToken"].includes(c.op)
    ).length;
  }

  /** Revokes every access token (the portal answers 401), as a sign-out does. */
  revokeAccessTokens(): void {
    for (const g of this.#access.values()) g.revoked = true;
  }

  /** Revokes every refresh token (CreateToken answers invalid_grant). */
  revokeRefreshTokens(): void {
    for (const g of this.#refresh.values()) g.revoked = true;
  }

  /** Makes every pending device code expire. */
  expireDeviceCodes(): void {
    for (const d of this.#devices.values()) d.expired = true;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const route = `${req.method} ${url.pathname}`;
    let body: Record<string, unknown> = {};
    if (req.method === "POST") {
      try {
        body = JSON.parse(await req.text() || "{}");
      } catch {
        return error(400, "InvalidRequestException", "invalid_request");
      }
    }
    switch (route) {
      case "POST /client/register":
        this.calls.push({ op: "RegisterClient", body });
        return this.#register(body);
      case "POST /device_authorization":
        this.calls.push({ op: "StartDeviceAuthorization", body });
        return this.#startDevice(body);
      case "POST /token":
        this.calls.push({ op: "CreateToken", grantType: String(body.grantType ?? ""), body });
        return await this.#token(body);
      case "GET /federation/credentials":
        this.calls.push({ op: "GetRoleCredentials", body: Object.fromEntries(url.searchParams) });
        return this.#roleCredentials(req, url);
      case "GET /authorize":
        this.calls.push({ op: "authorize", body: Object.fromEntries(url.searchParams) });
        return this.#authorize(req, url);
      case "GET /device":
        this.calls.push({ op: "device", body: Object.fromEntries(url.searchParams) });
        return this.#devicePage(req, url);
      default:
        return new Response("not found\n", { status: 404 });
    }
  }

  #register(body: Record<string, unknown>): Response {
    if (body.clientType !== "public" || typeof body.clientName !== "string") {
      return error(400, "InvalidClientMetadataException", "invalid_client_metadata");
    }
    const grantTypes = strings(body.grantTypes);
    const redirectUris = strings(body.redirectUris);
    if (grantTypes.includes("authorization_code") && redirectUris.length === 0) {
      return error(400, "InvalidRedirectUriException", "invalid_redirect_uri");
    }
    const clientId = `client-${++this.#n}`;
    const secret = `client-secret-${crypto.randomUUID()}`;
    this.#clients.set(clientId, {
      secret,
      scopes: strings(body.scopes),
      grantTypes,
      redirectUris,
    });
    const now = Math.floor(Date.now() / 1000);
    return json({
      clientId,
      clientSecret: secret,
      clientIdIssuedAt: now,
      clientSecretExpiresAt: now + this.clientTtlSeconds,
    });
  }

  #client(body: Record<string, unknown>): Client | undefined {
    const c = this.#clients.get(String(body.clientId ?? ""));
    return c && c.secret === body.clientSecret ? c : undefined;
  }

  #startDevice(body: Record<string, unknown>): Response {
    if (!this.#client(body)) return error(401, "InvalidClientException", "invalid_client");
    const deviceCode = `device-${crypto.randomUUID()}`;
    const userCode = `CODE-${String(++this.#n).padStart(4, "0")}`;
    this.#devices.set(deviceCode, {
      clientId: String(body.clientId),
      userCode,
      decision: "pending",
      expired: false,
      used: false,
    });
    return json({
      deviceCode,
      userCode,
      verificationUri: `${this.url}/device`,
      verificationUriComplete: `${this.url}/device?user_code=${userCode}`,
      expiresIn: 600,
      interval: this.interval,
    });
  }

  async #token(body: Record<string, unknown>): Promise<Response> {
    const client = this.#client(body);
    if (!client) return error(401, "InvalidClientException", "invalid_client");
    const clientId = String(body.clientId);
    switch (body.grantType) {
      case "urn:ietf:params:oauth:grant-type:device_code": {
        const fault = this.tokenFaults.shift();
        if (fault) return error(...FAULTS[fault]);
        const d = this.#devices.get(String(body.deviceCode ?? ""));
        if (!d || d.clientId !== clientId || d.used) {
          return error(400, "InvalidGrantException", "invalid_grant");
        }
        if (d.expired) return error(...FAULTS.expired_token);
        if (d.decision === "denied") return error(...FAULTS.access_denied);
        if (d.decision === "pending") return error(...FAULTS.authorization_pending);
        d.used = true;
        return json(this.#issueToken(clientId, client));
      }
      case "authorization_code": {
        const c = this.#codes.get(String(body.code ?? ""));
        if (!c || c.used || c.clientId !== clientId || c.redirectUri !== body.redirectUri) {
          return error(400, "InvalidGrantException", "invalid_grant");
        }
        const verifier = String(body.codeVerifier ?? "");
        if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || await s256(verifier) !== c.challenge) {
          return error(400, "InvalidGrantException", "invalid_grant");
        }
        c.used = true;
        return json(this.#issueToken(clientId, client));
      }
      case "refresh_token": {
        const rt = String(body.refreshToken ?? "");
        const g = this.#refresh.get(rt);
        if (!g || g.revoked || g.clientId !== clientId) {
          return error(400, "InvalidGrantException", "invalid_grant");
        }
        g.revoked = true; // rotated
        return json(this.#issueToken(clientId, client));
      }
      default:
        return error(400, "UnsupportedGrantTypeException", "unsupported_grant_type");
    }
  }

  #issueToken(clientId: string, client: Client): Record<string, unknown> {
    const n = ++this.#n;
    const accessToken = `access-token-${n}-${crypto.randomUUID()}`;
    this.#access.set(accessToken, {
      clientId,
      expiresAt: Date.now() + this.accessTokenTtlSeconds * 1000,
      revoked: false,
    });
    const reply: Record<string, unknown> = {
      accessToken,
      tokenType: "Bearer",
      expiresIn: this.accessTokenTtlSeconds,
    };
    // Like IAM Identity Center: a refresh token only for clients registered with scopes.
    if (client.scopes.length > 0 && client.grantTypes.includes("refresh_token")) {
      const refreshToken = `refresh-token-${n}-${crypto.randomUUID()}`;
      this.#refresh.set(refreshToken, { clientId, expiresAt: Infinity, revoked: false });
      reply.refreshToken = refreshToken;
    }
    return reply;
  }

  #roleCredentials(req: Request, url: URL): Response {
    const token = req.headers.get("x-amz-sso_bearer_token") ?? "";
    const g = this.#access.get(token);
    if (!g || g.revoked || g.expiresAt <= Date.now()) {
      return new Response(JSON.stringify({ message: "Session token not found or invalid" }), {
        status: 401,
        headers: {
          "content-type": "application/json",
          "x-amzn-errortype": "UnauthorizedException",
        },
      });
    }
    const accountId = url.searchParams.get("account_id") ?? "";
    const roleName = url.searchParams.get("role_name") ?? "";
    if (!/^\d{12}$/.test(accountId) || roleName === "") {
      return error(400, "InvalidRequestException", "invalid_request");
    }
    const n = ++this.#n;
    const creds: IssuedRoleCredentials = {
      accessKeyId: `ASIASSO${String(n).padStart(9, "0")}`,
      secretAccessKey: `sso-secret-${n}-${crypto.randomUUID()}`,
      sessionToken: `sso-session-token-${n}-${crypto.randomUUID()}`,
      expiration: new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000),
      accountId,
      roleName,
    };
    this.issued.push(creds);
    this.onIssue?.(creds);
    return json({
      roleCredentials: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken,
        expiration: creds.expiration.getTime(),
      },
    });
  }

  /** The authorization page: the browser's decision comes in the `x-test-decision` header. */
  #authorize(req: Request, url: URL): Response {
    const p = url.searchParams;
    const client = this.#clients.get(p.get("client_id") ?? "");
    const redirect = p.get("redirect_uri") ?? "";
    let target: URL;
    try {
      target = new URL(redirect);
    } catch {
      return new Response("bad redirect_uri\n", { status: 400 });
    }
    if (
      !client || !client.grantTypes.includes("authorization_code") ||
      p.get("response_type") !== "code" || p.get("code_challenge_method") !== "S256" ||
      !/^[A-Za-z0-9_-]{43}$/.test(p.get("code_challenge") ?? "") || !p.get("state") ||
      target.protocol !== "http:" || target.hostname !== "127.0.0.1" ||
      target.pathname !== "/oauth/callback"
    ) {
      return new Response("bad authorization request\n", { status: 400 });
    }
    target.searchParams.set("state", p.get("state")!);
    if (req.headers.get("x-test-decision") === "deny") {
      target.searchParams.set("error", "access_denied");
    } else {
      const code = `auth-code-${crypto.randomUUID()}`;
      this.#codes.set(code, {
        clientId: p.get("client_id")!,
        redirectUri: redirect,
        challenge: p.get("code_challenge")!,
        used: false,
      });
      target.searchParams.set("code", code);
    }
    return new Response(null, { status: 302, headers: { location: target.toString() } });
  }

  #devicePage(req: Request, url: URL): Response {
    const userCode = url.searchParams.get("user_code");
    const d = [...this.#devices.values()].find((x) => x.userCode === userCode);
    if (!d) return new Response("unknown code\n", { status: 404 });
    d.decision = req.headers.get("x-test-decision") === "deny" ? "denied" : "approved";
    return new Response(`${d.decision}\n`);
  }
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
}

/** An error in the OIDC wire format: status, `x-amzn-errortype`, `error`/`error_description`. */
function error(status: number, type: string, code: string): Response {
  return new Response(
    JSON.stringify({ error: code, error_description: `test server: ${code}` }),
    { status, headers: { "content-type": "application/json", "x-amzn-errortype": type } },
  );
}

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)),
  );
  let bin = "";
  for (const b of digest) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
