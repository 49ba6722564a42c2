/**
 * STS calls are bounded (issue 14 item 12): a server that never answers, one that drips a byte
 * at a time, and one that sends 200 MB all end the call with one clear error, through the SDK's
 * own timeout settings and a reply-size limit. The limits are set low here so the test is fast;
 * the race below only keeps a regression from hanging the suite.
 */
import assert from "node:assert/strict";
import { sdkStsClientFactory, StsError } from "../../lib/aws/sts_client.ts";
import { type HostileKind, hostileServer } from "../support/hostile_servers.ts";

const CREDS = { accessKeyId: "AKIAHOSTILETEST", secretAccessKey: "s" };
const LIMITS = {
  connectTimeoutMs: 1000,
  requestTimeoutMs: 1500,
  callTimeoutMs: 4000,
  maxResponseBytes: 256 * 1024,
};

async function callAgainst(kind: HostileKind): Promise<{ err: unknown; sent: number }> {
  const server = hostileServer(kind);
  try {
    const client = sdkStsClientFactory({ maxAttempts: 1, limits: LIMITS })(CREDS, {
      endpointUrl: server.url,
      region: "us-east-1",
    });
    let guard: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<"hung">((r) => guard = setTimeout(() => r("hung"), 30_000));
    const outcome = await Promise.race([
      client.getSessionToken({ durationSeconds: 3600 }).then(() => "answered", (e) => e),
      hung,
    ]);
    clearTimeout(guard);
    return { err: outcome, sent: server.sent() };
  } finally {
    await server.close();
  }
}

for (const kind of ["silent", "drip"] as const) {
  Deno.test(`item 12: an STS that is ${kind} ends the call with a timeout error`, async () => {
    const { err } = await callAgainst(kind);
    assert.ok(err instanceof StsError, String(err));
    assert.equal(err.code, "Timeout", err.message);
    assert.match(err.message, /did not answer in time/);
  });
}

for (const kind of ["huge", "huge-chunked"] as const) {
  Deno.test(`item 12: a ${kind} STS reply is refused at the size limit, not read whole`, async () => {
    const { err, sent } = await callAgainst(kind);
    assert.ok(err instanceof StsError, String(err));
    assert.equal(err.code, "ResponseTooLarge", err.message);
    assert.ok(sent < 200 * 1024 * 1024, `the server sent all ${sent} bytes`);
  });
}
