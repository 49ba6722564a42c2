/**
 * lib/vault's SSO token source and sign-in flows in-process, against the test IAM Identity
 * Center through the real SDK clients: slow_down back-off, the client registration cache, the
 * refresh rules; plus the stored record format and endpoint rules.
 */
import assert from "node:assert/strict";
import { configuredEndpoint, oidcEndpoint } from "../../lib/aws/endpoints.ts";
import { sdkSsoPortalFactory } from "../../lib/aws/sso_client.ts";
import {
  type OidcClientFactory,
  OidcError,
  sdkOidcClientFactory,
} from "../../lib/aws/sso_oidc_client.ts";
import { envFromObject } from "../../lib/runtime.ts";
import {
  decodeOidcRecord,
  decodeOidcTokenData,
  encodeOidcTokenData,
  type OidcClientRecord,
  type OidcRecord,
  type OidcToken,
} from "../../lib/store/oidc_tokens.ts";
import { parseCredentialProcessOutput } from "../../lib/vault/credential_process.ts";
import { processLocker } from "../../lib/vault/session_cache.ts";
import type { SignInUi } from "../../lib/vault/sso_sign_in.ts";
import { SsoRoleCredentialsProvider } from "../../lib/vault/sso_role_credentials.ts";
import { SsoTokenSource, type SsoTokenStore } from "../../lib/vault/sso_token.ts";
import { UserError } from "../../lib/errors.ts";
import { TestSso } from "../support/test_sso.ts";

const URL_ = "https://corp.awsapps.com/start";

class MemoryTokens implements SsoTokenStore {
  readonly records = new Map<string, OidcRecord>();
  getRecord(url: string): Promise<OidcRecord | undefined> {
    return Promise.resolve(this.records.get(url));
  }
  set(url: string, token: OidcToken, client?: OidcClientRecord): Promise<void> {
    this.records.set(url, { token, client });
    return Promise.resolve();
  }
  remove(url: string): Promise<boolean> {
    return Promise.resolve(this.records.delete(url));
  }
}

interface SourceOptions {
  useDeviceCode?: boolean;
  /** false: no browser can be opened. */
  browser?: boolean;
  /** A browser of the test's own. */
  openBrowser?: SignInUi["openBrowser"];
  oidc?: OidcClientFactory;
  /** Without the test server's endpoint. */
  noEndpoint?: boolean;
}

interface Setup {
  sso: TestSso;
  store: MemoryTokens;
  sleeps: number[];
  opened: string[];
  notices: string[];
  source: (opts?: SourceOptions) => SsoTokenSource;
}

async function withSso(fn: (s: Setup) => Promise<void>): Promise<void> {
  const sso = new TestSso();
  const store = new MemoryTokens();
  const sleeps: number[] = [];
  const opened: string[] = [];
  const notices: string[] = [];
  const ui = (o: SourceOptions): SignInUi => ({
    openBrowser: o.openBrowser ?? (o.browser ?? true)
      ? o.openBrowser ?? (async (url) => {
        opened.push(url);
        const r = await fetch(url, { headers: { "x-test-decision": "approve" } });
        await r.body?.cancel();
        return true;
      })
      : undefined,
    notice: (t) => notices.push(t),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    interruptible: (f) => f(new AbortController().signal),
  });
  try {
    await fn({
      sso,
      store,
      sleeps,
      opened,
      notices,
      source: (o = {}) =>
        new SsoTokenSource(
          {
            startUrl: URL_,
            region: "eu-west-1",
            scopes: ["sso:account:access"],
            oidcEndpoint: o.noEndpoint ? undefined : sso.url,
          },
          {
            store,
            oidc: o.oidc ?? sdkOidcClientFactory({ maxAttempts: 1 }),
            lock: processLocker(),
            ui: ui(o),
            choice: { useDeviceCode: o.useDeviceCode },
            now: () => new Date(),
            debug: () => {},
          },
        ),
    });
  } finally {
    await sso.close();
  }
}

Deno.test("device code: slow_down adds 5 s to the interval and polling goes on", async () => {
  await withSso(async (s) => {
    s.sso.tokenFaults.push("authorization_pending", "slow_down", "authorization_pending");
    const t = await s.source({ useDeviceCode: true }).accessToken();
    assert.match(t.accessToken, /^access-token-/);
    assert.equal(t.fromCache, false);
    assert.deepEqual(s.sleeps, [1000, 1000, 6000, 6000]);
    assert.equal(s.sso.callsOf("CreateToken").length, 4);
    assert.match(s.notices[0], /confirm the code CODE-\d+/);
  });
});

Deno.test("a stored client registration is reused for the next sign-in, replaced near expiry", async () => {
  await withSso(async (s) => {
    await s.source().accessToken();
    assert.equal(s.sso.callsOf("RegisterClient").length, 1);
    // The token expired and has no refresh token: sign in again, with the same client.
    const rec = s.store.records.get(URL_)!;
    s.store.records.set(URL_, {
      token: { accessToken: "old", expiration: new Date(0) },
      client: rec.client,
    });
    await s.source().accessToken();
    assert.equal(s.sso.callsOf("RegisterClient").length, 1);
    assert.equal(s.opened.length, 2);
    // A client that expires within 15 minutes is not reused.
    const near = s.store.records.get(URL_)!;
    s.store.records.set(URL_, {
      token: { accessToken: "old", expiration: new Date(0) },
      client: { ...near.client!, expiresAt: new Date(Date.now() + 60_000) },
    });
    await s.source().accessToken();
    assert.equal(s.sso.callsOf("RegisterClient").length, 2);
    // A device-code sign-in needs a client registered for that grant.
    s.store.records.set(URL_, {
      token: { accessToken: "old", expiration: new Date(0) },
      client: s.store.records.get(URL_)!.client,
    });
    await s.source({ useDeviceCode: true }).accessToken();
    assert.equal(s.sso.callsOf("RegisterClient").length, 3);
  });
});

Deno.test("a refresh refused for its client (InvalidClientException) signs in with a new registration", async () => {
  await withSso(async (s) => {
    await s.source().accessToken();
    const rec = s.store.records.get(URL_)!;
    // The registration was deleted on the service: its secret no longer works.
    s.store.records.set(URL_, {
      token: { ...rec.token, expiration: new Date(0) },
      client: { ...rec.client!, clientSecret: "revoked" },
    });
    const t = await s.source().accessToken();
    assert.match(t.accessToken, /^access-token-/);
    assert.equal(s.sso.callsOf("RegisterClient").length, 2);
    assert.equal(s.opened.length, 2);
    assert.match(s.notices.join("\n"), /has ended \(InvalidClientException\)/);
    assert.notEqual(s.store.records.get(URL_)!.client!.clientSecret, "revoked");
  });
});

Deno.test("a refresh that cannot reach the service fails with one line and opens no browser", async () => {
  await withSso(async (s) => {
    await s.source().accessToken();
    const rec = s.store.records.get(URL_)!;
    s.store.records.set(URL_, { ...rec, token: { ...rec.token, expiration: new Date(0) } });
    const down = s.source({
      noEndpoint: true,
      oidc: () => ({
        registerClient: () => Promise.reject(new Error("unused")),
        startDeviceAuthorization: () => Promise.reject(new Error("unused")),
        createToken: () =>
          Promise.reject(
            new OidcError("sso-oidc:CreateToken failed: cannot reach", "NetworkError"),
          ),
      }),
      openBrowser: () => Promise.reject(new Error("no browser expected")),
    });
    await assert.rejects(down.accessToken(), /cannot reach/);
    assert.ok(s.store.records.has(URL_), "the refresh token is kept for next time");
  });
});

Deno.test("GetRoleCredentials: expiration from epoch milliseconds; a refused token is UnauthorizedException", async () => {
  await withSso(async (s) => {
    const tokens = s.source();
    const p = new SsoRoleCredentialsProvider({
      tokens,
      portal: sdkSsoPortalFactory({ maxAttempts: 1 }),
      accountId: "111111111111",
      roleName: "Dev",
      portalEndpoint: s.sso.url,
    });
    const c = await p.retrieve();
    assert.equal(c.expiration?.getTime(), s.sso.issued[0].expiration.getTime());
    const portal = sdkSsoPortalFactory({ maxAttempts: 1 })({
      region: "eu-west-1",
      endpoint: s.sso.url,
    });
    await assert.rejects(
      portal.getRoleCredentials({
        accessToken: "bogus",
        accountId: "111111111111",
        roleName: "Dev",
      }),
      (e: Error & { code?: string }) =>
        e.code === "UnauthorizedException" && e instanceof UserError,
    );
  });
});

Deno.test("GetRoleCredentials: an expiration that is no time is InvalidResponse, not a bare RangeError", async () => {
  for (const expiration of ['"soon"', "9000000000000000"]) {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () =>
        new Response(
          `{"roleCredentials":{"accessKeyId":"ASIAX","secretAccessKey":"s","sessionToken":"t","expiration":${expiration}}}`,
          { headers: { "content-type": "application/json" } },
        ),
    );
    try {
      const portal = sdkSsoPortalFactory({ maxAttempts: 1 })({
        region: "eu-west-1",
        endpoint: `http://127.0.0.1:${server.addr.port}`,
      });
      await assert.rejects(
        portal.getRoleCredentials({ accessToken: "t", accountId: "111111111111", roleName: "r" }),
        (e: Error & { code?: string }) =>
          e instanceof UserError && (e as { code?: string }).code === "InvalidResponse" &&
          e.message === "sso:GetRoleCredentials returned an invalid expiration",
      );
    } finally {
      await server.shutdown();
    }
  }
});

Deno.test("stored token records stay readable by aws-vault; the client rides along", () => {
  const now = new Date("2026-01-02T03:04:05Z");
  const token = {
    accessToken: "at",
    expiration: new Date(now.getTime() + 3600_000),
    refreshToken: "rt",
  };
  const client = {
    clientId: "c",
    clientSecret: "s",
    expiresAt: new Date("2026-04-01T00:00:00Z"),
    region: "eu-west-1",
    scopes: ["sso:account:access"],
    grantTypes: ["authorization_code", "refresh_token"],
  };
  const text = encodeOidcTokenData(token, now, client);
  const outer = JSON.parse(text);
  assert.deepEqual(Object.keys(outer), ["Token", "Expiration", "Client"]);
  assert.equal(outer.Token.ExpiresIn, 3600);
  assert.deepEqual(decodeOidcTokenData(text), { ...token, tokenType: "Bearer" });
  assert.deepEqual(decodeOidcRecord(text), { token: { ...token, tokenType: "Bearer" }, client });
  // aws-vault's own items (no Client) decode without one.
  assert.deepEqual(decodeOidcRecord(encodeOidcTokenData(token, now))?.client, undefined);
});

Deno.test("credential_process output: Go-style case-insensitive fields, bad values refused", () => {
  const c = parseCredentialProcessOutput(
    '{"version":1,"accesskeyid":"A","SECRETACCESSKEY":"S","SessionToken":"T","Expiration":"2026-01-01T00:00:00Z"}',
    "p",
  );
  assert.deepEqual(c, {
    accessKeyId: "A",
    secretAccessKey: "S",
    sessionToken: "T",
    expiration: new Date("2026-01-01T00:00:00Z"),
  });
  for (
    const [text, re] of [
      ["[]", /did not print a JSON object/],
      [
        '{"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"soon"}',
        /Expiration is not an RFC 3339 time/,
      ],
      ['{"AccessKeyId":1,"SecretAccessKey":"S"}', /AccessKeyId is not a string/],
      ['{"Version":"1","AccessKeyId":"A","SecretAccessKey":"S"}', /printed Version "1"/],
    ] as const
  ) {
    assert.throws(() => parseCredentialProcessOutput(text, "p"), re);
  }
});

Deno.test("endpoints: AWS_ENDPOINT_URL_<SERVICE> beats endpoint_url; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns both off", () => {
  const env = envFromObject({ AWS_ENDPOINT_URL_SSO_OIDC: "http://127.0.0.1:1" });
  assert.equal(configuredEndpoint("SSO_OIDC", env, "http://profile"), "http://127.0.0.1:1");
  assert.equal(configuredEndpoint("SSO", env, "http://profile"), "http://profile");
  assert.equal(configuredEndpoint("STS", env, undefined), undefined);
  const off = envFromObject({
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true",
    AWS_ENDPOINT_URL_STS: "x",
  });
  assert.equal(configuredEndpoint("STS", off, "http://profile"), undefined);
  assert.equal(oidcEndpoint("eu-west-1"), "https://oidc.eu-west-1.amazonaws.com");
  assert.equal(oidcEndpoint("cn-north-1"), "https://oidc.cn-north-1.amazonaws.com.cn");
  assert.equal(oidcEndpoint("eu-west-1", "http://127.0.0.1:9/"), "http://127.0.0.1:9");
});

Deno.test("device code: what the service sends is printed without control characters; only web URLs are opened", async () => {
  const notices: string[] = [];
  const opened: string[] = [];
  const { deviceCodeSignIn } = await import("../../lib/vault/sso_device_code.ts");
  const token = await deviceCodeSignIn({
    oidc: {
      registerClient: () => Promise.reject(new Error("unused")),
      startDeviceAuthorization: () =>
        Promise.resolve({
          deviceCode: "d",
          userCode: "\x1b]0;pwned\x07ABCD",
          verificationUri: "file:///etc/passwd\x1b[2J",
          expiresIn: 60,
          interval: 1,
        }),
      createToken: () => Promise.resolve({ accessToken: "at", expiresIn: 60 }),
    },
    client: {
      clientId: "c",
      clientSecret: "s",
      expiresAt: new Date(Date.now() + 86400_000),
      region: "eu-west-1",
      scopes: [],
      grantTypes: [],
    },
    startUrl: URL_,
    ui: {
      openBrowser: (u) => {
        opened.push(u);
        return Promise.resolve(true);
      },
      notice: (t) => notices.push(t),
      sleep: () => Promise.resolve(),
      interruptible: (f) => f(new AbortController().signal),
    },
    openBrowser: true,
    signal: new AbortController().signal,
    now: () => new Date(),
  });
  assert.equal(token.accessToken, "at");
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(notices.join(""), /[\u0000-\u0009\u000b-\u001f]/);
  assert.deepEqual(opened, []);
});

Deno.test("device code: a huge interval or expiresIn from the service waits at most 10 minutes, polling at least every minute", async () => {
  const { deviceCodeSignIn } = await import("../../lib/vault/sso_device_code.ts");
  let clock = Date.parse("2026-01-01T00:00:00Z");
  const sleeps: number[] = [];
  let polls = 0;
  await assert.rejects(
    deviceCodeSignIn({
      oidc: {
        registerClient: () => Promise.reject(new Error("unused")),
        startDeviceAuthorization: () =>
          Promise.resolve({
            deviceCode: "d",
            userCode: "ABCD",
            verificationUri: "https://device.example/",
            // 35 days: over 2^31 ms, which a timer would fire at once, again and again.
            interval: 3_000_000,
            expiresIn: 30 * 86400,
          }),
        createToken: () => {
          polls++;
          return Promise.reject(
            new OidcError("authorization_pending", "AuthorizationPendingException"),
          );
        },
      },
      client: {
        clientId: "c",
        clientSecret: "s",
        expiresAt: new Date(clock + 86400_000),
        region: "eu-west-1",
        scopes: [],
        grantTypes: [],
      },
      startUrl: URL_,
      ui: {
        notice: () => {},
        sleep: (ms) => {
          sleeps.push(ms);
          clock += ms;
          return Promise.resolve();
        },
        interruptible: (f) => f(new AbortController().signal),
      },
      openBrowser: false,
      signal: new AbortController().signal,
      now: () => new Date(clock),
    }),
    /not approved in time/,
  );
  assert.ok(sleeps.every((ms) => ms > 0 && ms <= 60_000), sleeps.join(" "));
  assert.equal(sleeps.reduce((a, b) => a + b, 0), 10 * 60_000);
  assert.equal(polls, 9);
});

Deno.test("auth code: a callback with the wrong state is refused and the real one still signs in", async () => {
  await withSso(async (s) => {
    const forged: number[] = [];
    const source = s.source({
      openBrowser: async (url) => {
        const redirect = new URL(new URL(url).searchParams.get("redirect_uri")!);
        redirect.search = "?state=forged&code=evil";
        const bad = await fetch(redirect);
        forged.push(bad.status);
        await bad.body?.cancel();
        const r = await fetch(url);
        await r.body?.cancel();
        return true;
      },
    });
    const t = await source.accessToken();
    assert.match(t.accessToken, /^access-token-/);
    assert.deepEqual(forged, [404]);
    const exchanged = s.sso.callsOf("CreateToken", "authorization_code");
    assert.equal(exchanged.length, 1);
    assert.notEqual(exchanged[0].body.code, "evil");
  });
});

Deno.test("a hanging OIDC service or portal ends in one error line, not a hang", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) held.push(c);
  })();
  const endpoint = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  try {
    const oidc = sdkOidcClientFactory({ maxAttempts: 1, requestTimeoutMs: 300 })({
      region: "eu-west-1",
      endpoint,
    });
    await assert.rejects(
      oidc.registerClient({ clientName: "x", scopes: [], grantTypes: [] }),
      (e: Error & { code?: string }) =>
        e instanceof OidcError && e.code === "NetworkError" &&
        /^sso-oidc:RegisterClient failed: cannot reach http:\/\/127\.0\.0\.1:\d+ \(/.test(
          e.message,
        ),
    );
    const portal = sdkSsoPortalFactory({ maxAttempts: 1, requestTimeoutMs: 300 })({
      region: "eu-west-1",
      endpoint,
    });
    await assert.rejects(
      portal.getRoleCredentials({ accessToken: "t", accountId: "111111111111", roleName: "r" }),
      (e: Error & { code?: string }) => e.code === "NetworkError",
    );
  } finally {
    listener.close();
    for (const c of held) c.close();
    await accepting.catch(() => {});
  }
});
