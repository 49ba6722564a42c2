/**
 * The worked examples of reference 2.5 (with the corrected rules of 2.6), end to end through
 * the provider chain against the signature-checking test STS: STS calls, cache entries and MFA
 * prompts are asserted.
 */
import assert from "node:assert/strict";
import { sdkStsClientFactory } from "../../lib/aws/sts_client.ts";
import { MfaCodes } from "../../lib/prompt/mfa.ts";
import { memoryLedger } from "../../lib/prompt/used_codes.ts";
import { buildProvider, type ChainOptions } from "../../lib/vault/chain.ts";
import { processLocker } from "../../lib/vault/session_cache.ts";
import type { ProfileConfig } from "../../lib/config/profile.ts";
import { MemoryMasterKeys, MemorySessions, profile, withSource } from "../support/memory_vault.ts";
import { TestSts } from "../support/test_sts.ts";
import { UserError } from "../../lib/errors.ts";
import { rejection } from "../support/errors.ts";

const M = "arn:aws:iam::111111111111:mfa/jonsmith";
const R = "arn:aws:iam::111111111111:role/admin";
const R2 = "arn:aws:iam::111111111111:role/admin2";
const RO = "arn:aws:iam::111111111111:role/readonly";
const HOUR = 3_600_000;
const JON = {
  name: "jonsmith",
  accessKeyId: "AKIATESTJONSMITH0001",
  secretAccessKey: "jon-secret-key-0000000000000000000000000",
  mfaSerial: M,
};

/** A world: test STS, stored keys for jonsmith, a session cache, an MFA source with a clock. */
async function world(fn: (w: World) => Promise<void>): Promise<void> {
  const sts = new TestSts([JON]);
  for (const r of [R, R2, RO]) sts.roles.set(r, { requireMfa: r !== RO });
  const keys = new MemoryMasterKeys();
  keys.keys.set("jonsmith", { accessKeyId: JON.accessKeyId, secretAccessKey: JON.secretAccessKey });
  const sessions = new MemorySessions();
  let clock = Date.now();
  let nextCode = 100000;
  const notices: string[] = [];
  const mfa = new MfaCodes({
    os: Deno.build.os,
    driver: () =>
      Promise.resolve(() => {
        const code = String(nextCode++);
        sts.allowMfaCode(M, code);
        return Promise.resolve(code);
      }),
    ledger: memoryLedger(),
    now: () => new Date(clock),
    notice: (t) => notices.push(t),
    sleep: (ms) => {
      clock += ms;
      return Promise.resolve();
    },
  });
  const w: World = {
    sts,
    sessions,
    mfa,
    notices,
    advance: (ms) => clock += ms,
    retrieve: async (p, options) => {
      const provider = await buildProvider(p, {
        masterKeys: keys,
        sessions,
        lock: processLocker(),
        sts: sdkStsClientFactory({ maxAttempts: 1 }),
        mfa,
        now: () => new Date(clock),
        notice: (t) => notices.push(t),
        debug: () => {},
      }, options);
      const creds = await provider.retrieve();
      return creds.accessKeyId;
    },
  };
  try {
    await fn(w);
  } finally {
    await sts.close();
  }
}

interface World {
  sts: TestSts;
  sessions: MemorySessions;
  mfa: MfaCodes;
  notices: string[];
  retrieve(p: ProfileConfig, options?: ChainOptions): Promise<string>;
  advance(ms: number): void;
}

const jonsmith = (fields: Partial<ProfileConfig> = {}) =>
  profile("jonsmith", { mfaSerial: M, endpointUrl: "", ...fields });
function admin(fields: Partial<ProfileConfig> = {}): ProfileConfig {
  return withSource(profile("admin", { roleArn: R, mfaSerial: M, ...fields }), jonsmith());
}
const actions = (sts: TestSts) => sts.calls.map((c) => c.action);

function at(sts: TestSts, p: ProfileConfig): ProfileConfig {
  for (let q: ProfileConfig | undefined = p; q; q = q.sourceProfile) q.endpointUrl = sts.url;
  return p;
}

Deno.test("exec jonsmith: GetSessionToken with MFA for 1h, cached, one prompt", async () => {
  await world(async (w) => {
    const first = await w.retrieve(at(w.sts, jonsmith()));
    const second = await w.retrieve(at(w.sts, jonsmith()));
    assert.equal(first, second);
    assert.deepEqual(actions(w.sts), ["GetSessionToken"]);
    const gst = w.sts.callsOf("GetSessionToken")[0];
    assert.equal(gst.params.DurationSeconds, "3600");
    assert.equal(gst.params.SerialNumber, M);
    assert.deepEqual(w.sessions.ids(), [`sts.GetSessionToken/jonsmith/${M}`]);
    assert.equal(w.mfa.prompts, 1);
  });
});

Deno.test("exec jonsmith -n: the stored long-term keys, no STS call", async () => {
  await world(async (w) => {
    assert.equal(await w.retrieve(at(w.sts, jonsmith()), { noSession: true }), JON.accessKeyId);
    assert.deepEqual(actions(w.sts), []);
    assert.deepEqual(w.sessions.ids(), []);
    assert.equal(w.mfa.prompts, 0);
  });
});

Deno.test("exec admin: GetSessionToken(M, 8h) on jonsmith, then AssumeRole without MFA", async () => {
  await world(async (w) => {
    await w.retrieve(at(w.sts, admin()));
    await w.retrieve(at(w.sts, admin()));
    assert.deepEqual(actions(w.sts), ["GetSessionToken", "AssumeRole", "AssumeRole"]);
    assert.equal(w.sts.callsOf("GetSessionToken")[0].params.DurationSeconds, "28800");
    const ar = w.sts.callsOf("AssumeRole")[0];
    assert.equal(ar.params.SerialNumber, undefined);
    assert.equal(ar.params.DurationSeconds, "3600");
    assert.match(ar.params.RoleSessionName, /^aws-vault-\d{13}$/);
    assert.deepEqual(w.sessions.ids(), [`sts.GetSessionToken/jonsmith/${M}`]);
    assert.equal(w.mfa.prompts, 1);
  });
});

Deno.test("exec admin -d 2h: one role over 1h is assumed from the keys with MFA, cached", async () => {
  await world(async (w) => {
    const p = () =>
      at(w.sts, admin({ durations: { ...profile("x").durations, assumeRole: 2 * HOUR } }));
    await w.retrieve(p());
    await w.retrieve(p());
    assert.deepEqual(actions(w.sts), ["AssumeRole"]);
    const ar = w.sts.callsOf("AssumeRole")[0];
    assert.equal(ar.params.DurationSeconds, "7200");
    assert.equal(ar.params.SerialNumber, M);
    assert.equal(ar.accessKeyId, JON.accessKeyId);
    assert.deepEqual(w.sessions.ids(), [`sts.AssumeRole/admin/${M}`]);
    assert.equal(w.mfa.prompts, 1);
    assert.deepEqual(w.notices, []);
  });
});

Deno.test("exec ro: AssumeRole from the keys without MFA, not cached", async () => {
  await world(async (w) => {
    const ro = () => at(w.sts, withSource(profile("ro", { roleArn: RO }), jonsmith()));
    await w.retrieve(ro());
    await w.retrieve(ro());
    assert.deepEqual(actions(w.sts), ["AssumeRole", "AssumeRole"]);
    assert.equal(w.sts.callsOf("AssumeRole")[0].accessKeyId, JON.accessKeyId);
    assert.deepEqual(w.sessions.ids(), []);
    assert.equal(w.mfa.prompts, 0);
  });
});

Deno.test("exec admin -n: AssumeRole with MFA from the keys, cached", async () => {
  await world(async (w) => {
    await w.retrieve(at(w.sts, admin()), { noSession: true });
    await w.retrieve(at(w.sts, admin()), { noSession: true });
    assert.deepEqual(actions(w.sts), ["AssumeRole"]);
    assert.equal(w.sts.callsOf("AssumeRole")[0].params.SerialNumber, M);
    assert.deepEqual(w.sessions.ids(), [`sts.AssumeRole/admin/${M}`]);
    assert.equal(w.mfa.prompts, 1);
  });
});

function admin2(): ProfileConfig {
  return withSource(profile("admin2", { roleArn: R2, mfaSerial: M }), admin());
}

Deno.test("role to role chain: GST, AR, AR with one prompt; only GST cached", async () => {
  await world(async (w) => {
    await w.retrieve(at(w.sts, admin2()));
    assert.deepEqual(actions(w.sts), ["GetSessionToken", "AssumeRole", "AssumeRole"]);
    assert.deepEqual(w.sessions.ids(), [`sts.GetSessionToken/jonsmith/${M}`]);
    assert.equal(w.mfa.prompts, 1);
  });
});

Deno.test("a role with its own keys as source of a role with the same MFA: one prompt (priming)", async () => {
  await world(async (w) => {
    // jonsmith has stored keys and a role; r2 assumes another role from it, same mfa_serial.
    const r2 = () =>
      at(w.sts, withSource(profile("r2", { roleArn: R2, mfaSerial: M }), jonsmith({ roleArn: R })));
    const first = await w.retrieve(r2());
    assert.deepEqual(actions(w.sts), ["GetSessionToken", "AssumeRole", "AssumeRole"]);
    assert.equal(w.sts.callsOf("GetSessionToken")[0].params.SerialNumber, M);
    for (const ar of w.sts.callsOf("AssumeRole")) assert.equal(ar.params.SerialNumber, undefined);
    assert.deepEqual(w.sessions.ids(), [`sts.GetSessionToken/jonsmith/${M}`]);
    assert.equal(w.mfa.prompts, 1);
    // The next run reuses the session: no second prompt (exec -t CODE r2 twice would work).
    assert.ok(first.startsWith("ASIA"));
    await w.retrieve(r2());
    assert.equal(w.mfa.prompts, 1);
    // Used directly, that role is assumed from its keys with MFA, as before.
    await w.retrieve(at(w.sts, jonsmith({ roleArn: R })), { noSession: true });
    assert.equal(w.sts.callsOf("AssumeRole").at(-1)!.accessKeyId, JON.accessKeyId);
  });
});

Deno.test("role to role chain with -n: two MFA codes, never the same one twice", async () => {
  await world(async (w) => {
    await w.retrieve(at(w.sts, admin2()), { noSession: true });
    assert.deepEqual(actions(w.sts), ["AssumeRole", "AssumeRole"]);
    const codes = w.sts.callsOf("AssumeRole").map((c) => c.params.TokenCode);
    assert.notEqual(codes[0], codes[1]);
    assert.deepEqual(w.sessions.ids(), [`sts.AssumeRole/admin/${M}`, `sts.AssumeRole/admin2/${M}`]);
    assert.equal(w.mfa.prompts, 2);
  });
});

Deno.test("a chained role asking for more than 1h is capped, with one notice", async () => {
  await world(async (w) => {
    const p = admin2();
    p.durations = { ...p.durations, assumeRole: 2 * HOUR };
    p.sourceProfile!.durations = { ...p.durations };
    await w.retrieve(at(w.sts, p));
    assert.deepEqual(actions(w.sts), ["GetSessionToken", "AssumeRole", "AssumeRole"]);
    assert.deepEqual(w.sts.callsOf("AssumeRole").map((c) => c.params.DurationSeconds), [
      "3600",
      "3600",
    ]);
    assert.equal(w.notices.length, 2);
    assert.match(w.notices[0], /profile admin: .*1h instead of 2h0m0s/);
  });
});

Deno.test("a cached session refused as expired mid-use is renewed once", async () => {
  await world(async (w) => {
    await w.retrieve(at(w.sts, admin()));
    w.sts.expireKey([...w.sessions.entries.values()][0].accessKeyId);
    await w.retrieve(at(w.sts, admin()));
    assert.deepEqual(actions(w.sts), [
      "GetSessionToken",
      "AssumeRole",
      "GetSessionToken",
      "AssumeRole",
    ]);
    assert.equal(w.mfa.prompts, 2);
  });
});

Deno.test("a role that cannot be assumed is one line naming the role", async () => {
  await world(async (w) => {
    const p = withSource(
      profile("bad", { roleArn: "arn:aws:iam::111111111111:role/nope" }),
      jonsmith(),
    );
    const err = await rejection(() => w.retrieve(at(w.sts, p)), UserError);
    assert.match(err.message, /AssumeRole failed: AccessDenied: .*role\/nope/);
    assert.ok(!err.message.includes(JON.secretAccessKey));
  });
});

Deno.test("a wrong MFA code is refused and nothing is cached", async () => {
  await world(async (w) => {
    const p = at(w.sts, jonsmith({ mfaToken: "999999" }));
    const err = await rejection(() => w.retrieve(p), UserError);
    assert.match(
      err.message,
      /GetSessionToken failed: AccessDenied: MultiFactorAuthentication failed/,
    );
    assert.ok(!err.message.includes("999999"));
    assert.deepEqual(w.sessions.ids(), []);
  });
});

Deno.test("a profile with no stored keys and no source is a clear error", async () => {
  await world(async (w) => {
    const err = await rejection(() => w.retrieve(profile("nobody")), UserError);
    assert.match(err.message, /profile nobody: no credentials: none stored in the vault/);
  });
});

Deno.test("a session with less than 15 minutes left is renewed for export, reused for exec", async () => {
  await world(async (w) => {
    const first = await w.retrieve(at(w.sts, jonsmith()));
    w.advance(50 * 60_000); // 10 minutes left
    assert.equal(await w.retrieve(at(w.sts, jonsmith())), first);
    const handedOut = await w.retrieve(at(w.sts, jonsmith()), { minRemainingMs: 15 * 60_000 });
    assert.notEqual(handedOut, first);
    assert.equal(w.sts.callsOf("GetSessionToken").length, 2);
  });
});

Deno.test("an unreadable cached session counts as missing and is replaced", async () => {
  await world(async (w) => {
    await w.retrieve(at(w.sts, jonsmith()));
    const get = w.sessions.get.bind(w.sessions);
    let broken = true;
    w.sessions.get = (key) => broken ? Promise.reject(new Error("half-written item")) : get(key);
    await w.retrieve(at(w.sts, jonsmith()));
    broken = false;
    assert.equal(w.sts.callsOf("GetSessionToken").length, 2);
    assert.equal(w.sessions.ids().length, 1);
  });
});

Deno.test("stored keys are read before the MFA prompt: a vault error wastes no code", async () => {
  const sts = new TestSts([JON]);
  try {
    let prompts = 0;
    const mfa = new MfaCodes({
      os: Deno.build.os,
      driver: () => Promise.resolve(() => Promise.resolve(String(200000 + prompts++))),
      ledger: memoryLedger(),
      now: () => new Date(),
      notice: () => {},
    });
    const deps = {
      masterKeys: {
        has: () => Promise.resolve(true),
        get: () => Promise.reject(new UserError("wrong passphrase for vault /v")),
      },
      sessions: new MemorySessions(),
      lock: processLocker(),
      sts: sdkStsClientFactory({ maxAttempts: 1 }),
      mfa,
      now: () => new Date(),
      notice: () => {},
      debug: () => {},
    };
    for (const p of [jonsmith(), admin()]) {
      const provider = await buildProvider(at(sts, p), deps, { noSession: true });
      const err = await rejection(() => provider.retrieve(), UserError);
      assert.equal(err.message, "wrong passphrase for vault /v");
    }
    const gst = await buildProvider(at(sts, jonsmith()), deps);
    assert.equal(
      (await rejection(() => gst.retrieve(), UserError)).message,
      "wrong passphrase for vault /v",
    );
    assert.equal(prompts, 0, "an MFA code was asked for before the keys could be read");
    assert.deepEqual(sts.calls, []);
  } finally {
    await sts.close();
  }
});
