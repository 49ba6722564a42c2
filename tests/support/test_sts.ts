/**
 * A test STS of our own (Deno.serve on 127.0.0.1:0), for what moto lacks: it verifies SigV4
 * signatures with the secret keys it issued, checks MFA codes (each code works once), enforces
 * the 1h limit on role chaining, counts calls and injects faults.
 */

/** A long-term IAM user the server knows. */
export interface TestUser {
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The user's MFA device serial, if any. */
  mfaSerial?: string;
}

/** One call the server received (after signature checks). */
export interface StsCall {
  action: string;
  /** The access key that signed the call. */
  accessKeyId: string;
  params: Record<string, string>;
  /** The client's `User-Agent` header (the AWS SDK names its version there). */
  userAgent: string;
}

/** A fault served instead of a normal reply. */
export type StsFault =
  | { kind: "throttle" }
  | { kind: "server-error" }
  | { kind: "slow"; ms: number }
  | { kind: "expired-token" };

interface IssuedKey {
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
  /** The ARN the key acts as. */
  arn: string;
  /** Whether the key is a role session (for the 1h chaining limit). */
  isRole: boolean;
  /** Whether an MFA code was checked when the key was issued. */
  mfa: boolean;
}

/** A running test STS. */
export class TestSts {
  readonly calls: StsCall[] = [];
  /** Faults served to the next requests, in order. */
  readonly faults: StsFault[] = [];
  /** Roles that may be assumed: ARN → whether MFA is required. */
  readonly roles = new Map<string, { requireMfa: boolean }>();
  /** Requests rejected before reaching an action (bad signature, unknown key), with reasons. */
  readonly rejected: string[] = [];
  readonly #keys = new Map<string, IssuedKey>();
  readonly #codes = new Map<string, Set<string>>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #counter = 0;

  constructor(users: TestUser[] = []) {
    for (const u of users) {
      this.#keys.set(u.accessKeyId, {
        secretAccessKey: u.secretAccessKey,
        arn: `arn:aws:iam::111111111111:user/${u.name}`,
        isRole: false,
        mfa: false,
      });
    }
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
  }

  /** The endpoint URL (`AWS_ENDPOINT_URL`). */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** Makes `code` acceptable, once, for the MFA device `serial`. */
  allowMfaCode(serial: string, code: string): void {
    if (!this.#codes.has(serial)) this.#codes.set(serial, new Set());
    this.#codes.get(serial)!.add(code);
  }

  /** Calls of one action. */
  callsOf(action: string): StsCall[] {
    return this.calls.filter((c) => c.action === action);
  }

  /** Makes an issued session key expired, as if its time had run out. */
  expireKey(accessKeyId: string): void {
    const k = this.#keys.get(accessKeyId);
    if (k) k.expiration = new Date(0);
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }

  async #handle(req: Request): Promise<Response> {
    const body = await req.text();
    const fault = this.faults.shift();
    if (fault?.kind === "slow") await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === "throttle") return errorReply(400, "Throttling", "Rate exceeded");
    if (fault?.kind === "server-error") {
      return errorReply(500, "InternalFailure", "internal failure", "Receiver");
    }
    if (fault?.kind === "expired-token") {
      return errorReply(
        400,
        "ExpiredToken",
        "The security token included in the request is expired",
      );
    }
    const params = Object.fromEntries(new URLSearchParams(body));
    const auth = await this.#verify(req, body);
    if (typeof auth === "string") {
      this.rejected.push(auth);
      return errorReply(403, auth.split(":")[0], auth);
    }
    const action = params.Action ?? "";
    this.calls.push({
      action,
      accessKeyId: auth.accessKeyId,
      params,
      userAgent: req.headers.get("user-agent") ?? "",
    });
    switch (action) {
      case "GetCallerIdentity":
        return reply(
          action,
          `<Arn>${auth.key.arn}</Arn><UserId>AIDTEST</UserId><Account>111111111111</Account>`,
        );
      case "GetSessionToken":
        return this.#getSessionToken(auth.key, params);
      case "AssumeRole":
        return this.#assumeRole(auth.key, params);
      default:
        return errorReply(400, "InvalidAction", `unknown action ${action}`);
    }
  }

  #checkMfa(params: Record<string, string>): string | undefined {
    const serial = params.SerialNumber;
    if (!serial) return undefined;
    const code = params.TokenCode ?? "";
    const codes = this.#codes.get(serial);
    if (!codes?.has(code)) {
      return "MultiFactorAuthentication failed with invalid MFA one time pass code.";
    }
    codes.delete(code);
    return undefined;
  }

  #getSessionToken(key: IssuedKey, params: Record<string, string>): Response {
    if (key.sessionToken) {
      return errorReply(
        403,
        "AccessDenied",
        "Cannot call GetSessionToken with session credentials",
      );
    }
    const bad = this.#checkMfa(params);
    if (bad) return errorReply(403, "AccessDenied", bad);
    const seconds = Number(params.DurationSeconds ?? 43200);
    if (seconds < 900 || seconds > 129600) {
      return errorReply(400, "ValidationError", "DurationSeconds out of range");
    }
    const creds = this.#issue(seconds, { arn: key.arn, isRole: false, mfa: !!params.SerialNumber });
    return reply("GetSessionToken", creds);
  }

  #assumeRole(key: IssuedKey, params: Record<string, string>): Response {
    const role = this.roles.get(params.RoleArn ?? "");
    if (!role) {
      return errorReply(
        403,
        "AccessDenied",
        `User: ${key.arn} is not authorized to perform: sts:AssumeRole on resource: ${params.RoleArn}`,
      );
    }
    if (params.SerialNumber) {
      const bad = this.#checkMfa(params);
      if (bad) return errorReply(403, "AccessDenied", bad);
    } else if (role.requireMfa && !key.mfa) {
      return errorReply(403, "AccessDenied", `MFA required to assume ${params.RoleArn}`);
    }
    const seconds = Number(params.DurationSeconds ?? 3600);
    if (key.isRole && seconds > 3600) {
      return errorReply(
        400,
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
      );
    }
    const name = params.RoleSessionName ?? "";
    const arn = `${
      params.RoleArn?.replace(":iam:", ":sts:").replace(":role/", ":assumed-role/")
    }/${name}`;
    const creds = this.#issue(seconds, {
      arn,
      isRole: true,
      mfa: key.mfa || !!params.SerialNumber,
    });
    return reply(
      "AssumeRole",
      `${creds}<AssumedRoleUser><Arn>${arn}</Arn><AssumedRoleId>AROTEST:${name}</AssumedRoleId></AssumedRoleUser>`,
    );
  }

  #issue(seconds: number, who: { arn: string; isRole: boolean; mfa: boolean }): string {
    const n = ++this.#counter;
    const accessKeyId = `ASIATEST${String(n).padStart(8, "0")}`;
    const secretAccessKey = `test-session-secret-${n}-${crypto.randomUUID()}`;
    const sessionToken = `test-session-token-${n}-${crypto.randomUUID()}`;
    const expiration = new Date(Date.now() + seconds * 1000);
    this.#keys.set(accessKeyId, { secretAccessKey, sessionToken, expiration, ...who });
    return `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>${secretAccessKey}</SecretAccessKey><SessionToken>${sessionToken}</SessionToken><Expiration>${expiration.toISOString()}</Expiration></Credentials>`;
  }

  /** Checks the SigV4 signature; returns the signing key, or a rejection reason. */
  async #verify(
    req: Request,
    body: string,
  ): Promise<{ accessKeyId: string; key: IssuedKey } | string> {
    const header = req.headers.get("authorization") ?? "";
    const m = header.match(
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/sts\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/,
    );
    if (!m) return "IncompleteSignature: missing or malformed Authorization header";
    const [, accessKeyId, date, region, signedHeaders, signature] = m;
    const key = this.#keys.get(accessKeyId);
    if (!key) return "InvalidClientTokenId: The security token included in the request is invalid";
    if (key.sessionToken && req.headers.get("x-amz-security-token") !== key.sessionToken) {
      return "InvalidClientTokenId: The security token included in the request is invalid";
    }
    if (key.expiration && key.expiration.getTime() <= Date.now()) {
      return "ExpiredToken: The security token included in the request is expired";
    }
    const amzDate = req.headers.get("x-amz-date") ?? "";
    const url = new URL(req.url);
    const names = signedHeaders.split(";");
    const canonicalHeaders = names.map((n) =>
      `${n}:${(req.headers.get(n) ?? "").trim().replace(/\s+/g, " ")}\n`
    ).join("");
    const query = [...url.searchParams].map(([k, v]) => [enc(k), enc(v)])
      .sort(([a, x], [b, y]) => a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0)
      .map(([k, v]) => `${k}=${v}`).join("&");
    const canonicalRequest = [
      req.method,
      url.pathname || "/",
      query,
      canonicalHeaders,
      signedHeaders,
      await sha256Hex(body),
    ].join("\n");
    const scope = `${date}/${region}/sts/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonicalRequest)]
      .join("\n");
    let k = await hmac(new TextEncoder().encode(`AWS4${key.secretAccessKey}`), date);
    k = await hmac(k, region);
    k = await hmac(k, "sts");
    k = await hmac(k, "aws4_request");
    const expected = hex(await hmac(k, stringToSign));
    if (expected !== signature) {
      return "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided";
    }
    return { accessKeyId, key };
  }
}

function enc(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

async function sha256Hex(text: string): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

async function hmac(key: Uint8Array, data: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(data)));
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function reply(action: string, result: string): Response {
  return new Response(
    `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>test-request</RequestId></ResponseMetadata></${action}Response>`,
    { headers: { "content-type": "text/xml" } },
  );
}

function errorReply(status: number, code: string, message: string, type = "Sender"): Response {
  const msg = message.replace(/^[A-Za-z]+: /, "");
  return new Response(
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${msg}</Message></Error><RequestId>test-request</RequestId></ErrorResponse>`,
    { status, headers: { "content-type": "text/xml" } },
  );
}
