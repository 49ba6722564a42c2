/** The SDK-backed STS client against our signature-checking test STS. */
import assert from "node:assert/strict";
import { rejection } from "../support/errors.ts";
import { sdkStsClientFactory, StsError } from "../../lib/aws/sts_client.ts";
import { TestSts } from "../support/test_sts.ts";

const USER = {
  name: "jonsmith",
  accessKeyId: "AKIATESTJONSMITH0001",
  secretAccessKey: "jon-secret-key-0000000000000000000000000",
  mfaSerial: "arn:aws:iam::111111111111:mfa/jonsmith",
};
const LONG_TERM = { accessKeyId: USER.accessKeyId, secretAccessKey: USER.secretAccessKey };

Deno.test("GetSessionToken with MFA is signed correctly and returns session credentials", async () => {
  const sts = new TestSts([USER]);
  try {
    sts.allowMfaCode(USER.mfaSerial, "123456");
    const client = sdkStsClientFactory()(LONG_TERM, { endpointUrl: sts.url });
    const creds = await client.getSessionToken({
      durationSeconds: 3600,
      serialNumber: USER.mfaSerial,
      tokenCode: "123456",
    });
    assert(creds.accessKeyId.startsWith("ASIA"));
    assert(creds.sessionToken);
    assert.deepEqual(sts.rejected, []);
    assert.equal(sts.callsOf("GetSessionToken")[0].params.DurationSeconds, "3600");
    // The same code a second time is refused, with AWS's message.
    const err = await rejection(
      () =>
        client.getSessionToken({
          durationSeconds: 3600,
          serialNumber: USER.mfaSerial,
          tokenCode: "123456",
        }),
      StsError,
    );
    assert.equal(err.code, "AccessDenied");
  } finally {
    await sts.close();
  }
});

Deno.test("a wrong secret key is refused by signature verification", async () => {
  const sts = new TestSts([USER]);
  try {
    const client = sdkStsClientFactory({ maxAttempts: 1 })(
      { accessKeyId: USER.accessKeyId, secretAccessKey: "wrong" },
      { endpointUrl: sts.url },
    );
    const err = await rejection(() => client.getSessionToken({ durationSeconds: 3600 }), StsError);
    assert.equal(err.code, "SignatureDoesNotMatch");
    assert(!err.message.includes("wrong"));
  } finally {
    await sts.close();
  }
});

Deno.test("throttling and 5xx are retried with backoff, within bounds", async () => {
  const sts = new TestSts([USER]);
  try {
    sts.faults.push({ kind: "throttle" }, { kind: "server-error" });
    const client = sdkStsClientFactory()(LONG_TERM, { endpointUrl: sts.url });
    const creds = await client.getSessionToken({ durationSeconds: 900 });
    assert(creds.sessionToken);
    sts.faults.push({ kind: "server-error" }, { kind: "server-error" }, { kind: "server-error" });
    const err = await rejection(() => client.getSessionToken({ durationSeconds: 900 }), StsError);
    assert.equal(err.code, "InternalFailure");
    assert.equal(sts.faults.length, 0);
  } finally {
    await sts.close();
  }
});

Deno.test("a network failure is one clear line naming the endpoint", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const client = sdkStsClientFactory({ maxAttempts: 1 })(LONG_TERM, {
    endpointUrl: `http://127.0.0.1:${port}`,
  });
  const err = await rejection(() => client.getSessionToken({ durationSeconds: 900 }), StsError);
  assert.equal(err.code, "NetworkError");
  assert(err.message.includes(`127.0.0.1:${port}`), err.message);
  assert(!err.message.includes("\n"));
});
