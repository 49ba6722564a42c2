/**
 * The rotation flow against the test STS/IAM (real SDK clients over loopback), every failure
 * checked against the invariant: the vault holds a key that IAM still has, and the message
 * names the stored key and every key IAM holds for the user.
 */
import assert from "node:assert/strict";
import { sdkIamClientFactory } from "../../lib/aws/iam_client.ts";
import { sdkStsClientFactory } from "../../lib/aws/sts_client.ts";
import type { Credentials } from "../../lib/credentials.ts";
import { rotateKey, type RotationDeps, RotationError } from "../../lib/vault/rotate.ts";
import { TestSts } from "../support/test_sts.ts";

const ALICE = {
  name: "alice",
  path: "/team/ops/",
  accessKeyId: "AKIATESTALICE0000001",
  secretAccessKey: "alice-secret-key-000000000000000000000000",
};

class MemoryStore {
  readonly keys = new Map<string, Credentials>();
  failWrites = 0;
  replaced: string[] = [];
  get(p: string): Promise<Credentials | undefined> {
    return Promise.resolve(this.keys.get(p));
  }
  replace(p: string, c: Credentials): Promise<void> {
    if (this.failWrites > 0) {
      this.failWrites--;
      return Promise.reject(new Error("disk full"));
    }
    this.keys.set(p, { ...c });
    this.replaced.push(c.accessKeyId);
    return Promise.resolve();
  }
}

interface Rig {
  sts: TestSts;
  store: MemoryStore;
  deps: RotationDeps;
  out: string[];
  callerCalls: () => number;
}

async function rig(fn: (r: Rig) => Promise<void>): Promise<void> {
  const sts = new TestSts([ALICE]);
  const store = new MemoryStore();
  store.keys.set("alice", {
    accessKeyId: ALICE.accessKeyId,
    secretAccessKey: ALICE.secretAccessKey,
  });
  const out: string[] = [];
  let callers = 0;
  const where = { region: "eu-west-1", endpointUrl: sts.url };
  const deps: RotationDeps = {
    store,
    sts: sdkStsClientFactory({ maxAttempts: 1 }),
    stsWhere: where,
    iam: sdkIamClientFactory({ maxAttempts: 1 }),
    iamWhere: where,
    callerCredentials: () => {
      callers++;
      return Promise.resolve(store.keys.get("alice")!);
    },
    removeSessions: () => Promise.resolve(2),
    sleep: () => Promise.resolve(),
    progress: (t) => out.push(`${t}\n`),
    tick: (t) => out.push(t),
    debug: () => {},
  };
  try {
    await fn({ sts, store, deps, out, callerCalls: () => callers });
  } finally {
    await sts.close();
  }
}

/** The invariant after any outcome. */
function assertInvariant(r: Rig, message?: string): Credentials {
  const stored = r.store.keys.get("alice")!;
  assert.ok(stored, "a key is stored");
  const inIam = r.sts.accessKeysOf("alice");
  assert.ok(inIam.includes(stored.accessKeyId), `the stored key ${stored.accessKeyId} is in IAM`);
  assert.ok(r.sts.accepts(stored), "the stored key works");
  if (message !== undefined) {
    assert.ok(message.includes(stored.accessKeyId), `the message names the stored key: ${message}`);
    for (const id of inIam) assert.ok(message.includes(id), `the message names ${id}: ${message}`);
  }
  return stored;
}

async function rotationError(r: Rig): Promise<string> {
  const err = await rotateKey("alice", r.deps).then(() => undefined, (e) => e);
  assert.ok(err instanceof RotationError, String(err));
  assert.equal(err.message.split("\n").length, 1);
  return err.message;
}

Deno.test("rotate: new key created, stored, verified; old key deleted and refused", async () => {
  await rig(async (r) => {
    const result = await rotateKey("alice", r.deps);
    assert.equal(result.userName, "alice");
    assert.equal(result.oldAccessKeyId, ALICE.accessKeyId);
    assert.equal(result.sessionsRemoved, 2);
    const stored = assertInvariant(r);
    assert.equal(stored.accessKeyId, result.newAccessKeyId);
    assert.deepEqual(r.sts.accessKeysOf("alice"), [result.newAccessKeyId]);
    assert.equal(
      r.sts.accepts({ accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey }),
      false,
    );
    // The old key is refused by STS itself now.
    await assert.rejects(
      sdkStsClientFactory({ maxAttempts: 1 })(
        { accessKeyId: ALICE.accessKeyId, secretAccessKey: ALICE.secretAccessKey },
        r.deps.stsWhere,
      ).getCallerIdentity(),
      /InvalidClientTokenId/,
    );
    // IAM calls: explicit user name (the path is not part of it), one caller credential.
    const create = r.sts.callsOf("CreateAccessKey")[0];
    assert.equal(create.params.UserName, "alice");
    assert.equal(r.sts.callsOf("DeleteAccessKey")[0].params.AccessKeyId, ALICE.accessKeyId);
    assert.equal(r.callerCalls(), 1);
    // The new key was verified by signing with it.
    assert.ok(
      r.sts.callsOf("GetCallerIdentity").some((c) => c.accessKeyId === result.newAccessKeyId),
    );
    assert.match(r.out.join(""), /Created new access key \*{16}\w{4}\n/);
    assert.ok(!r.out.join("").includes("secret"));
  });
});

Deno.test("rotate: a new key that IAM takes a while to make valid is waited for", async () => {
  await rig(async (r) => {
    r.sts.newKeyInvalidFor = 4;
    const slept: number[] = [];
    r.deps.sleep = (ms) => (slept.push(ms), Promise.resolve());
    const result = await rotateKey("alice", r.deps);
    assertInvariant(r);
    assert.deepEqual(r.sts.accessKeysOf("alice"), [result.newAccessKeyId]);
    assert.deepEqual(slept, [500, 1000, 2000, 4000]); // backoff
    assert.match(r.out.join(""), /Waiting for IAM to make the new key valid\.\.\.\.\n/);
  });
});

Deno.test("rotate: a new key that never becomes valid: old key back in the vault, new one deleted", async () => {
  await rig(async (r) => {
    r.sts.newKeyInvalidFor = 1_000;
    r.deps.verifyTimeoutMs = 10_000;
    const msg = await rotationError(r);
    const stored = assertInvariant(r, msg);
    assert.equal(stored.accessKeyId, ALICE.accessKeyId);
    assert.deepEqual(r.sts.accessKeysOf("alice"), [ALICE.accessKeyId]);
    assert.match(
      msg,
      /did not work .*InvalidClientTokenId.*again, which still works; the new key \S+ was deleted from IAM/,
    );
  });
});

Deno.test("rotate: CreateAccessKey denied or failing changes nothing", async () => {
  for (const kind of ["denied", "server-error", "limit-exceeded"] as const) {
    await rig(async (r) => {
      r.sts.actionFaults.set("CreateAccessKey", [{ kind }]);
      const msg = await rotationError(r);
      const stored = assertInvariant(r, msg);
      assert.equal(stored.accessKeyId, ALICE.accessKeyId);
      assert.deepEqual(r.sts.accessKeysOf("alice"), [ALICE.accessKeyId]);
      assert.match(
        msg,
        /could not create a new access key for IAM user alice: .*nothing was changed/,
      );
    });
  }
});

Deno.test("rotate: a user who already has a second key is told which, nothing changed", async () => {
  await rig(async (r) => {
    // A key left by an interrupted rotation.
    const stray = await sdkIamClientFactory()(r.store.keys.get("alice")!, r.deps.iamWhere)
      .createAccessKey("alice");
    const msg = await rotationError(r);
    assertInvariant(r, msg);
    assert.ok(msg.includes(stray.accessKeyId));
    assert.match(
      msg,
      /already has two access keys: AKIATESTALICE0000001, stored for profile 'alice'/,
    );
    assert.match(msg, /aws iam delete-access-key --user-name alice --access-key-id AKIANEW/);
    assert.equal(r.sts.callsOf("CreateAccessKey").length, 1); // only the stray one
    // With ListAccessKeys denied, IAM's own LimitExceeded is reported the same safe way.
    r.sts.actionFaults.set("ListAccessKeys", [{ kind: "denied" }]);
    const msg2 = await rotationError(r);
    assertInvariant(r, msg2.replace(/$/, ` ${stray.accessKeyId}`));
    assert.match(msg2, /LimitExceeded.*nothing was changed/);
  });
});

Deno.test("rotate: the vault refusing the new key: old key kept, new key deleted from IAM", async () => {
  await rig(async (r) => {
    r.store.failWrites = 1;
    const msg = await rotationError(r);
    const stored = assertInvariant(r, msg);
    assert.equal(stored.accessKeyId, ALICE.accessKeyId);
    assert.deepEqual(r.sts.accessKeysOf("alice"), [ALICE.accessKeyId]);
    assert.match(
      msg,
      /could not store the new key \S+: disk full; the vault holds AKIATESTALICE0000001/,
    );
    assert.match(msg, /was deleted from IAM again/);
  });
  await rig(async (r) => {
    // ...and when IAM also refuses to delete it, the user is told its id and how to delete it.
    r.store.failWrites = 1;
    r.sts.actionFaults.set("DeleteAccessKey", [{ kind: "denied" }]);
    const msg = await rotationError(r);
    assertInvariant(r, msg);
    assert.equal(r.sts.accessKeysOf("alice").length, 2);
    assert.match(
      msg,
      /still exists in IAM: aws iam delete-access-key --user-name alice --access-key-id AKIANEW/,
    );
  });
});

Deno.test("rotate: DeleteAccessKey failing leaves the new key stored and says the old one remains", async () => {
  await rig(async (r) => {
    r.sts.actionFaults.set("DeleteAccessKey", [{ kind: "denied" }]);
    const msg = await rotationError(r);
    const stored = assertInvariant(r, msg);
    assert.notEqual(stored.accessKeyId, ALICE.accessKeyId);
    assert.deepEqual(r.sts.accessKeysOf("alice"), [ALICE.accessKeyId, stored.accessKeyId].sort());
    assert.match(
      msg,
      /could not delete the old key AKIATESTALICE0000001: .*AccessDenied.*the vault holds AKIANEW\S* for profile 'alice' \(verified: it works\); the old key AKIATESTALICE0000001 still exists in IAM: aws iam delete-access-key/,
    );
  });
  await rig(async (r) => {
    // Passing failures are retried.
    r.sts.actionFaults.set("DeleteAccessKey", [{ kind: "server-error" }, { kind: "throttle" }]);
    const result = await rotateKey("alice", r.deps);
    assert.deepEqual(r.sts.accessKeysOf("alice"), [result.newAccessKeyId]);
  });
});

Deno.test("rotate: a stored key that does not work, or is not a user's, changes nothing", async () => {
  await rig(async (r) => {
    r.store.keys.set("alice", { accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x" });
    const msg = await rotationError(r);
    assert.match(
      msg,
      /the key stored for profile 'alice' \(AKIAUNKNOWN000000000\) does not work: .*InvalidClientTokenId.*nothing was changed/,
    );
    assert.equal(r.sts.callsOf("CreateAccessKey").length, 0);
    assert.equal(r.callerCalls(), 0); // no MFA prompt for a rotation that cannot happen
  });
  await rig(async (r) => {
    r.store.keys.delete("alice");
    await assert.rejects(rotateKey("alice", r.deps), /no credentials stored for profile 'alice'/);
  });
});
