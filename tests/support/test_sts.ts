/**
 * A test STS and IAM of our own (Deno.serve on 127.0.0.1:0), for what moto lacks: it verifies
 * SigV4 signatures with the secret keys it issued, checks MFA codes (each code works once),
 * enforces the 1h limit on role chaining, counts calls and injects faults, per action too (IAM
 * CreateAccessKey/DeleteAccessKey/GetUser denied or failing, a new key that is not valid yet).
 */

/** A long-term IAM user the server knows. */
export interface TestUser {
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The user's MFA device serial, if any. */
  mfaSerial?: string;
  /** The IAM path, `/` unless given (e.g. `/team/ops/`). */
  path?: string;
}

/** One call the server received (after signature checks). */
export interface StsCall {
  action: string;
  /** The access key that signed the call. */
  accessKeyId: string;
  params: Record<string, string>;
  /** The client's `User-Agent` header (the AWS SDK names its version there). */
  userAgent: string;
  /** The region of the signature's scope. */
  region: string;
}

/** A fault served instead of a normal reply. */
export type StsFault =
  | { kind: "throttle" }
  | { kind: "server-error" }
  | { kind: "slow"; ms: number }
  | { kind: "expired-token" }
  | { kind: "denied" }
  | { kind: "limit-exceeded" };

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
  /** The IAM user of a long-term key. */
  userName?: string;
  /** The call that issued a session (`GetSessionToken`, `AssumeRole`, `GetFederationToken`). */
  issuedBy?: string;
  /** Signed requests with this key still refused as invalid (IAM propagation). */
  invalidFor?: number;
}

/** An IAM user the server knows. */
interface IamUser {
  arn: string;
  keys: Map<string, { status: string }>;
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
  /** Faults served to the next calls of one action (`CreateAccessKey`...), in order. */
  readonly actionFaults = new Map<string, StsFault[]>();
  /** How many signed requests a key made by CreateAccessKey is refused for (0: valid at once). */
  newKeyInvalidFor = 0;
  /**
   * Awaited when an action arrives, before it is served (a test may kill the client here);
   * "drop" leaves the action undone, as if the request had never arrived.
   */
  onAction?: (
    action: string,
    params: Record<string, string>,
    signer: string,
  ) => Promise<void | "drop">;
  /** Awaited after an action was carried out, before its reply is sent. */
  afterAction?: (action: string, params: Record<string, string>, signer: string) => Promise<void>;
  readonly users = new Map<string, IamUser>();
  readonly #keys = new Map<string, IssuedKey>();
  readonly #codes = new Map<string, Set<string>>();
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  #counter = 0;

  constructor(users: TestUser[] = []) {
    for (const u of users) {
      const arn = `arn:aws:iam::111111111111:user${u.path ?? "/"}${u.name}`;
      this.#keys.set(u.accessKeyId, {
        secretAccessKey: u.secretAccessKey,
        arn,
        isRole: false,
        mfa: false,
        userName: u.name,
      });
      const user = this.users.get(u.name) ?? { arn, keys: new Map() };
      user.keys.set(u.accessKeyId, { status: "Active" });
      this.users.set(u.name, user);
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

  /** Accepts temporary credentials issued elsewhere (the test SSO portal) as a role session. */
  acceptSessionKey(
    k: { accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date },
    arn: string,
  ): void {
    this.#keys.set(k.accessKeyId, {
      secretAccessKey: k.secretAccessKey,
      sessionToken: k.sessionToken,
      expiration: k.expiration,
      arn,
      isRole: true,
      mfa: false,
    });
  }

  /** Makes an issued session key expired, as if its time had run out. */
  expireKey(accessKeyId: string): void {
    const k = this.#keys.get(accessKeyId);
    if (k) k.expiration = new Date(0);
  }

  /** The access keys IAM holds for a user, sorted. */
  accessKeysOf(userName: string): string[] {
    return [...(this.users.get(userName)?.keys.keys() ?? [])].sort();
  }

  /** Whether these credentials would be accepted now (a key the server issued and still has). */
  accepts(creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): boolean {
    const k = this.#keys.get(creds.accessKeyId);
    if (!k || k.secretAccessKey !== creds.secretAccessKey) return false;
    if ((k.sessionToken ?? "") !== (creds.sessionToken ?? "")) return false;
    return !k.expiration || k.expiration.getTime() > Date.now();
  }

  /** Who a session the server issued acts as, and which call issued it. */
  sessionInfo(accessKeyId: string): { arn: string; issuedBy?: string } | undefined {
    const k = this.#keys.get(accessKeyId);
    return k ? { arn: k.arn, issuedBy: k.issuedBy } : undefined;
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
      region: auth.region,
    });
    if ((await this.onAction?.(action, params, auth.accessKeyId)) === "drop") {
      return errorReply(500, "InternalFailure", "dropped", "Receiver");
    }
    const actionFault = this.actionFaults.get(action)?.shift();
    if (actionFault) {
      if (actionFault.kind === "slow") await new Promise((r) => setTimeout(r, actionFault.ms));
      const r = faultReply(actionFault, action, auth.key.arn);
      if (r) return r;
    }
    const res = await this.#serve(action, auth, params);
    await this.afterAction?.(action, params, auth.accessKeyId);
    return res;
  }

  #serve(
    action: string,
    auth: { key: IssuedKey; service: string },
    params: Record<string, string>,
  ): Response {
    if (auth.service === "iam") return this.#iam(action, auth.key, params);
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
      case "GetFederationToken":
        return this.#getFederationToken(auth.key, params);
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
    const creds = this.#issue(seconds, {
      arn: key.arn,
      isRole: false,
      mfa: !!params.SerialNumber,
      issuedBy: "GetSessionToken",
    });
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
      issuedBy: "AssumeRole",
    });
    return reply(
      "AssumeRole",
      `${creds}<AssumedRoleUser><Arn>${arn}</Arn><AssumedRoleId>AROTEST:${name}</AssumedRoleId></AssumedRoleUser>`,
    );
  }

  #getFederationToken(key: IssuedKey, params: Record<string, string>): Response {
    if (key.sessionToken) {
      return errorReply(
        403,
        "AccessDenied",
        "Cannot call GetFederationToken with session credentials",
      );
    }
    const name = params.Name ?? "";
    if (!/^[\w+=,.@-]{2,32}$/.test(name)) {
      return errorReply(400, "ValidationError", `invalid federated user name ${name}`);
    }
    const seconds = Number(params.DurationSeconds ?? 43200);
    if (seconds < 900 || seconds > 129600) {
      return errorReply(400, "ValidationError", "DurationSeconds out of range");
    }
    const arn = `arn:aws:sts::111111111111:federated-user/${name}`;
    const creds = this.#issue(seconds, {
      arn,
      isRole: false,
      mfa: false,
      issuedBy: "GetFederationToken",
    });
    return reply(
      "GetFederationToken",
      `${creds}<FederatedUser><Arn>${arn}</Arn><FederatedUserId>111111111111:${name}</FederatedUserId></FederatedUser>`,
    );
  }

  #iam(
    action: string,
    key: IssuedKey,
    params: Record<string, string>,
  ): Response {
    // IAM refuses GetSessionToken sessions made without MFA (as AWS does).
    if (key.issuedBy === "GetSessionToken" && !key.mfa) {
      return iamError(
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid",
      );
    }
    const own = key.issuedBy ? undefined : key.userName;
    const userName = params.UserName || own;
    if (!userName) {
      return iamError(
        400,
        "ValidationError",
        "Must specify userName when calling with non-User credentials",
      );
    }
    const user = this.users.get(userName);
    if (!user) {
      return iamError(404, "NoSuchEntity", `The user with name ${userName} cannot be found.`);
    }
    switch (action) {
      case "GetUser":
        return iamReply(
          action,
          `<User><UserName>${userName}</UserName><Arn>${user.arn}</Arn></User>`,
        );
      case "ListAccessKeys":
        return iamReply(
          action,
          `<AccessKeyMetadata>${
            [...user.keys].map(([id, k]) =>
              `<member><AccessKeyId>${id}</AccessKeyId><Status>${k.status}</Status><UserName>${userName}</UserName></member>`
            ).join("")
          }</AccessKeyMetadata><IsTruncated>false</IsTruncated>`,
        );
      case "CreateAccessKey": {
        if (user.keys.size >= 2) {
          return iamError(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2");
        }
        const n = ++this.#counter;
        const accessKeyId = `AKIANEW${String(n).padStart(9, "0")}`;
        const secretAccessKey = `test-new-secret-${n}-${crypto.randomUUID()}`;
        this.#keys.set(accessKeyId, {
          secretAccessKey,
          arn: user.arn,
          isRole: false,
          mfa: false,
          userName,
          invalidFor: this.newKeyInvalidFor,
        });
        user.keys.set(accessKeyId, { status: "Active" });
        return iamReply(
          action,
          `<AccessKey><UserName>${userName}</UserName><AccessKeyId>${accessKeyId}</AccessKeyId><Status>Active</Status><SecretAccessKey>${secretAccessKey}</SecretAccessKey></AccessKey>`,
        );
      }
      case "DeleteAccessKey": {
        const id = params.AccessKeyId ?? "";
        if (!user.keys.has(id)) {
          return iamError(404, "NoSuchEntity", `The Access Key with id ${id} cannot be found.`);
        }
        user.keys.delete(id);
        this.#keys.delete(id);
        return iamReply(action, "");
      }
      default:
        return iamError(400, "InvalidAction", `unknown action ${action}`);
    }
  }

  #issue(
    seconds: number,
    who: { arn: string; isRole: boolean; mfa: boolean; issuedBy: string },
  ): string {
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
  ): Promise<{ accessKeyId: string; key: IssuedKey; service: string; region: string } | string> {
    const header = req.headers.get("authorization") ?? "";
    const m = header.match(
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/(sts|iam)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/,
    );
    if (!m) return "IncompleteSignature: missing or malformed Authorization header";
    const [, accessKeyId, date, region, service, signedHeaders, signature] = m;
    const key = this.#keys.get(accessKeyId);
    if (!key) return "InvalidClientTokenId: The security token included in the request is invalid";
    if (key.invalidFor) {
      key.invalidFor--;
      return "InvalidClientTokenId: The security token included in the request is invalid";
    }
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
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonicalRequest)]
      .join("\n");
    let k = await hmac(new TextEncoder().encode(`AWS4${key.secretAccessKey}`), date);
    k = await hmac(k, region);
    k = await hmac(k, service);
    k = await hmac(k, "aws4_request");
    const expected = hex(await hmac(k, stringToSign));
    if (expected !== signature) {
      return "SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided";
    }
    return { accessKeyId, key, service, region };
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

function faultReply(fault: StsFault, action: string, arn: string): Response | undefined {
  switch (fault.kind) {
    case "throttle":
      return errorReply(400, "Throttling", "Rate exceeded");
    case "server-error":
      return errorReply(500, "InternalFailure", "internal failure", "Receiver");
    case "expired-token":
      return errorReply(
        400,
        "ExpiredToken",
        "The security token included in the request is expired",
      );
    case "denied":
      return iamError(
        403,
        "AccessDenied",
        `User: ${arn} is not authorized to perform: iam:${action} on resource: ${arn}`,
      );
    case "limit-exceeded":
      return iamError(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2");
    default:
      return undefined;
  }
}

function iamReply(action: string, result: string): Response {
  return new Response(
    `<${action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>test-request</RequestId></ResponseMetadata></${action}Response>`,
    { headers: { "content-type": "text/xml" } },
  );
}

function iamError(status: number, code: string, message: string): Response {
  return new Response(
    `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>test-request</RequestId></ErrorResponse>`,
    { status, headers: { "content-type": "text/xml" } },
  );
}
