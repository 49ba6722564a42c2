/**
 * Hostile requests against the ECS and EC2 servers: missing and wrong tokens, foreign Host
 * headers, forged and expired IMDSv2 tokens, malformed and huge requests, slow-loris
 * connections. Each is refused with the right status, no secret is in any reply or log line,
 * and the server keeps serving a well-behaved client.
 */
import assert from "node:assert/strict";
import { startEc2Server } from "../../lib/server/ec2_server.ts";
import { startEcsServer } from "../../lib/server/ecs_server.ts";
import type { ServedCredentials } from "../../lib/server/refreshing_credentials.ts";
import { bodyOf, rawRequest, readReply } from "../support/raw_http.ts";

const CREDS = {
  accessKeyId: "ASIASERVEDKEY0000001",
  secretAccessKey: "served-secret-key-00000000000000000000000",
  sessionToken: "served-session-token-000000000000000000",
  expiration: new Date(Date.now() + 3600_000),
};
const source: ServedCredentials = { get: () => Promise.resolve(CREDS) };
const TOKEN = "Z".repeat(40);

function assertNoSecret(text: string): void {
  for (const s of [CREDS.secretAccessKey, CREDS.sessionToken, TOKEN]) {
    assert.ok(!text.includes(s), "a secret is in a reply or log line");
  }
}

async function withEcs(fn: (port: number, log: string[]) => Promise<void>, limits = {}) {
  const log: string[] = [];
  const server = startEcsServer({
    base: source,
    token: TOKEN,
    log: (l) => log.push(l),
    limits,
    roleArn: () => undefined,
  });
  try {
    await fn(Number(new URL(server.url).port), log);
    for (const l of log) assertNoSecret(l);
  } finally {
    await server.close();
  }
}

async function withEc2(
  fn: (port: number, clock: { now: number }) => Promise<void>,
) {
  const clock = { now: Date.now() };
  const log: string[] = [];
  const server = await startEc2Server({
    source,
    hostname: "127.0.0.1",
    port: 0,
    region: "eu-west-1",
    now: () => new Date(clock.now),
    log: (l) => log.push(l),
  });
  try {
    await fn(server.addr.port, clock);
    for (const l of log) assertNoSecret(l);
  } finally {
    await server.close();
  }
}

const get = (path: string, headers: Record<string, string>) =>
  `GET ${path} HTTP/1.1\r\n${
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")
  }Connection: close\r\n\r\n`;

Deno.test("ECS server: a request without the exact token gets 403 and no credentials", async () => {
  await withEcs(async (port) => {
    const wrong = [
      undefined,
      "",
      TOKEN.slice(0, 39),
      `${TOKEN}Z`,
      `Bearer ${TOKEN}`,
      "Y" + TOKEN.slice(1),
      TOKEN.toLowerCase(),
    ];
    for (const auth of wrong) {
      const headers: Record<string, string> = { Host: `127.0.0.1:${port}` };
      if (auth !== undefined) headers.Authorization = auth;
      const r = await rawRequest(port, get("/", headers));
      assert.equal(r.status, 403, String(auth));
      assert.deepEqual(JSON.parse(bodyOf(r)), { Message: "invalid Authorization token" });
      assertNoSecret(r.text);
    }
    const ok = await rawRequest(port, get("/", { Host: "x", Authorization: TOKEN }));
    assert.equal(ok.status, 200);
    const body = JSON.parse(bodyOf(ok));
    assert.equal(body.AccessKeyId, CREDS.accessKeyId);
    assert.equal(body.Token, CREDS.sessionToken);
    assert.match(body.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});

Deno.test("ECS server: unknown role ARNs, profiles and methods are refused", async () => {
  await withEcs(async (port) => {
    const auth = { Host: "x", Authorization: TOKEN };
    assert.equal((await rawRequest(port, get("/role-arn/not-an-arn", auth))).status, 404);
    assert.equal((await rawRequest(port, get("/profile/prod", auth))).status, 404);
    assert.equal((await rawRequest(port, get("/role-arn/%E0%A4%A", auth))).status, 400);
    const post =
      `POST / HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nContent-Length: 0\r\n\r\n`;
    assert.equal((await rawRequest(port, post)).status, 405);
  });
});

Deno.test("both servers: malformed and oversized requests get 4xx/5xx, then others are served", async () => {
  const cases: [string, number][] = [
    ["garbage\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\n\r\n", 400], // no Host
    ["GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505],
    ["GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\n bad fold\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501],
    ["GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413],
    ["GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400],
    [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 431],
    [`GET / HTTP/1.1\r\nHost: x\r\n${"X-A: 1\r\n".repeat(100)}\r\n`, 431],
    [`GET /${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    ["GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: caf\u20ac\r\n\r\n", 400], // not Latin-1
  ];
  await withEcs(async (port) => {
    for (const [req, status] of cases) {
      const r = await rawRequest(port, req);
      assert.equal(r.status, status, JSON.stringify(req.slice(0, 60)));
      assertNoSecret(r.text);
    }
    // Binary noise with no end of head: refused once it passes the head limit.
    const noise = crypto.getRandomValues(new Uint8Array(10_000)).map((b) => b === 13 ? 0 : b);
    assert.equal((await rawRequest(port, noise)).status, 431);
    const ok = await rawRequest(port, get("/", { Host: "x", Authorization: TOKEN }));
    assert.equal(ok.status, 200);
  });
  await withEc2(async (port) => {
    for (const [req, status] of cases) {
      assert.equal((await rawRequest(port, req)).status, status, JSON.stringify(req.slice(0, 60)));
    }
  });
});

Deno.test("slow-loris: connections that never finish are closed, others keep being served", async () => {
  await withEcs(async (port) => {
    const slow: Deno.Conn[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n"));
      slow.push(c);
    }
    // 40 stalled connections against a limit of 16: a real client still gets through.
    const ok = await rawRequest(port, get("/", { Host: "x", Authorization: TOKEN }));
    assert.equal(ok.status, 200);
    // And every stalled connection is eventually closed by the server (header timeout).
    for (const c of slow) {
      const r = await readReply(c);
      assert.ok(r.status === 0 || r.status === 408, r.text);
      c.close();
    }
  }, { maxConnections: 16, headerTimeoutMs: 300, idleTimeoutMs: 300 });
});

Deno.test("EC2 server: the Host header must name the listen address", async () => {
  await withEc2(async (port) => {
    const path = "/latest/meta-data/iam/security-credentials/local-credentials";
    for (
      const host of [
        "evil.example",
        "169.254.169.254",
        `127.0.0.1:${port + 1}`,
        `127.0.0.1.evil.example:${port}`,
        `evil.example:${port}`,
        "",
      ]
    ) {
      const r = await rawRequest(port, get(path, { Host: host }));
      assert.equal(r.status, 401, host);
      assertNoSecret(r.text);
    }
    const h10 = await rawRequest(port, `GET ${path} HTTP/1.0\r\n\r\n`);
    assert.equal(h10.status, 401, "HTTP/1.0 without Host");
    const ok = await rawRequest(port, get(path, { Host: `127.0.0.1:${port}` }));
    assert.equal(ok.status, 200);
    const body = JSON.parse(bodyOf(ok));
    assert.equal(body.Code, "Success");
    assert.equal(body.Type, "AWS-HMAC");
    assert.equal(body.AccessKeyId, CREDS.accessKeyId);
  });
});

Deno.test("EC2 server: IMDSv2 tokens: TTL checked, required once issued, forged and expired refused", async () => {
  await withEc2(async (port, clock) => {
    const host = `127.0.0.1:${port}`;
    const path = "/latest/meta-data/iam/security-credentials/";
    const put = (headers: Record<string, string>) =>
      rawRequest(
        port,
        `PUT /latest/api/token HTTP/1.1\r\nHost: ${host}\r\n${
          Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("")
        }Content-Length: 0\r\n\r\n`,
      );
    // v1 works until a token was issued.
    assert.equal((await rawRequest(port, get(path, { Host: host }))).status, 200);
    for (const ttl of [undefined, "0", "21601", "abc", "-5", "1e3", ""]) {
      const h: Record<string, string> = {};
      if (ttl !== undefined) h["X-aws-ec2-metadata-token-ttl-seconds"] = ttl;
      assert.equal((await put(h)).status, 400, String(ttl));
    }
    const ttlHeader = { "X-aws-ec2-metadata-token-ttl-seconds": "60" };
    assert.equal((await put({ ...ttlHeader, "X-Forwarded-For": "1.2.3.4" })).status, 403);
    assert.equal(
      (await rawRequest(port, get("/latest/api/token", { Host: host }))).status,
      405,
    );
    const issued = await put(ttlHeader);
    assert.equal(issued.status, 200);
    assert.match(issued.text, /x-aws-ec2-metadata-token-ttl-seconds: 60/i);
    const token = bodyOf(issued);
    // Once issued, a request without a token is refused (no downgrade to v1).
    assert.equal((await rawRequest(port, get(path, { Host: host }))).status, 401);
    const ok = await rawRequest(port, get(path, { Host: host, "X-aws-ec2-metadata-token": token }));
    assert.equal(ok.status, 200);
    assert.equal(bodyOf(ok), "local-credentials");
    const [expiry, mac] = token.split(".");
    const forged = [
      "",
      "x",
      `${Number(expiry) + 1000}.${mac}`,
      `${expiry}.${mac.slice(0, -1)}${mac.endsWith("A") ? "B" : "A"}`, // other spelling or MAC
      `${expiry}.${mac[0] === "A" ? "B" : "A"}${mac.slice(1)}`,
      `${expiry}.${"A".repeat(43)}`,
      `${token}x`,
      "9".repeat(15) + "." + mac,
    ];
    for (const f of forged) {
      const r = await rawRequest(port, get(path, { Host: host, "X-aws-ec2-metadata-token": f }));
      assert.equal(r.status, 401, f);
    }
    clock.now += 61_000;
    const expired = await rawRequest(
      port,
      get(path, { Host: host, "X-aws-ec2-metadata-token": token }),
    );
    assert.equal(expired.status, 401, "an expired token");
  });
});
