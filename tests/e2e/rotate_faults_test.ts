/**
 * `aws-vault rotate` killed (SIGKILL) between each of its steps, against the test STS/IAM: the
 * vault always holds a key that works, and the next rotate either finishes or names exactly
 * which key is stored and which other key IAM still has. Also: one MFA code for the whole
 * rotation (the test STS accepts each code once), and a new key that is not valid at once.
 */
import assert from "node:assert/strict";
import { sdkIamClientFactory } from "../../lib/aws/iam_client.ts";
import { cliCommand, runCli } from "../support/cli.ts";
import { TestSts } from "../support/test_sts.ts";
import { type VaultHome, vaultHome } from "../support/vault_home.ts";

const M = "arn:aws:iam::111111111111:mfa/alice";
const ALICE = {
  name: "alice",
  accessKeyId: "AKIATESTALICE0000001",
  secretAccessKey: "alice-secret-key-000000000000000000000000",
};

interface Ctx {
  home: VaultHome;
  env: Record<string, string>;
  sts: TestSts;
  mfaLog: string;
}

async function setup(fn: (c: Ctx) => Promise<void>, codes = 20): Promise<void> {
  const sts = new TestSts([ALICE]);
  const home = await vaultHome("");
  const mfaLog = `${home.dir}/mfa.log`;
  const mfa = `${home.dir}/mfa.sh`;
  const script =
    `#!/bin/sh\necho asked >> '${mfaLog}'\nprintf '%06d\\n' "$(wc -l < '${mfaLog}')"\n`;
  await Deno.writeTextFile(mfa, script, { mode: 0o700 });
  await Deno.writeTextFile(
    home.env.AWS_CONFIG_FILE,
    `[profile alice]\nregion = eu-west-1\nmfa_serial = ${M}\nmfa_process = ${mfa}\n`,
  );
  for (let i = 1; i <= codes; i++) sts.allowMfaCode(M, String(i).padStart(6, "0"));
  try {
    await home.addKeys("alice", ALICE.accessKeyId, ALICE.secretAccessKey);
    await fn({ home, sts, mfaLog, env: { ...home.env, AWS_ENDPOINT_URL: sts.url } });
  } finally {
    await home.cleanup();
    await sts.close();
  }
}

/** The key the vault holds for alice. */
async function stored(c: Ctx): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const r = await runCli(["export", "-n", "--format", "json", "alice"], { env: c.env });
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  return { accessKeyId: j.AccessKeyId, secretAccessKey: j.SecretAccessKey };
}

/** The invariant: the stored key is one IAM has, and it works. */
async function assertInvariant(c: Ctx): Promise<string> {
  const key = await stored(c);
  assert.ok(c.sts.accessKeysOf("alice").includes(key.accessKeyId), "the stored key is in IAM");
  assert.ok(c.sts.accepts(key), "the stored key works");
  return key.accessKeyId;
}

/** Runs `rotate alice`, killed with SIGKILL when `at` says so. */
async function rotateKilled(
  c: Ctx,
  at: (when: "before" | "after", action: string, signer: string) => boolean,
): Promise<void> {
  const [cmd, ...args] = cliCommand();
  const child = new Deno.Command(cmd, {
    args: [...args, "rotate", "alice"],
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", NO_COLOR: "1", ...c.env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const kill = async () => {
    killed = true;
    child.kill("SIGKILL");
    await child.status;
  };
  c.sts.onAction = async (action, _p, signer) => {
    if (killed || !at("before", action, signer)) return;
    await kill();
    return "drop";
  };
  c.sts.afterAction = async (action, _p, signer) => {
    if (!killed && at("after", action, signer)) await kill();
  };
  const status = await child.status;
  const stderr = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
  c.sts.onAction = undefined;
  c.sts.afterAction = undefined;
  assert.ok(killed, `the kill point was reached: ${stderr}`);
  assert.equal(status.signal, "SIGKILL");
}

const KILL_POINTS: {
  name: string;
  at: (when: "before" | "after", action: string, signer: string) => boolean;
  /** Keys IAM has afterwards: "old", "new" (the stored one differs from the old), "orphan". */
  stored: "old" | "new";
  leftover: boolean;
}[] = [
  {
    name: "before CreateAccessKey",
    at: (w, a) => w === "before" && a === "CreateAccessKey",
    stored: "old",
    leftover: false,
  },
  {
    name: "after CreateAccessKey, before the new key is stored",
    at: (w, a) => w === "after" && a === "CreateAccessKey",
    stored: "old",
    leftover: true,
  },
  {
    name: "after storing, while verifying the new key",
    at: (w, a, s) => w === "before" && a === "GetCallerIdentity" && s.startsWith("AKIANEW"),
    stored: "new",
    leftover: true,
  },
  {
    name: "before DeleteAccessKey",
    at: (w, a) => w === "before" && a === "DeleteAccessKey",
    stored: "new",
    leftover: true,
  },
  {
    name: "after DeleteAccessKey",
    at: (w, a) => w === "after" && a === "DeleteAccessKey",
    stored: "new",
    leftover: false,
  },
];

for (const point of KILL_POINTS) {
  Deno.test(`rotate killed ${point.name}: a working key stays stored; the next rotate copes`, async () => {
    await setup(async (c) => {
      await rotateKilled(c, point.at);
      const key = await assertInvariant(c);
      assert.equal(key === ALICE.accessKeyId, point.stored === "old");
      const inIam = c.sts.accessKeysOf("alice");
      assert.equal(inIam.length, point.leftover ? 2 : 1, inIam.join(" "));

      let again = await runCli(["rotate", "alice"], { env: c.env });
      if (point.leftover) {
        // Named exactly: which key the vault holds, which other key IAM has, how to delete it.
        assert.equal(again.code, 1, again.stderr);
        const line = again.stderr.trim().split("\n").pop()!;
        assert.match(line, /^aws-vault: error: IAM user alice already has two access keys/);
        const other = inIam.find((k) => k !== key)!;
        assert.ok(line.includes(`${key}, stored for profile 'alice'`), line);
        assert.ok(line.includes(`${other} (Active), which the vault does not hold`), line);
        assert.ok(line.includes(`--access-key-id ${other}`), line);
        assert.match(line, /nothing was changed$/);
        await assertInvariant(c);
        // The user deletes the key named; the rotation then goes through.
        const creds = await stored(c);
        await sdkIamClientFactory()(creds, { endpointUrl: c.sts.url }).deleteAccessKey(
          other,
          "alice",
        );
        again = await runCli(["rotate", "alice"], { env: c.env });
      }
      assert.equal(again.code, 0, again.stderr);
      const final = await assertInvariant(c);
      assert.notEqual(final, key);
      assert.deepEqual(c.sts.accessKeysOf("alice"), [final]);
    });
  });
}

Deno.test("rotate with MFA: one code for the whole rotation (each code works once)", async () => {
  await setup(async (c) => {
    const r = await runCli(["rotate", "alice"], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await Deno.readTextFile(c.mfaLog)).trim().split("\n").length, 1);
    const gst = c.sts.callsOf("GetSessionToken");
    assert.equal(gst.length, 1);
    assert.equal(gst[0].params.SerialNumber, M);
    // Every IAM call was signed by that one MFA session.
    const iamSigners = new Set(
      c.sts.calls.filter((x) => /AccessKey/.test(x.action)).map((x) => x.accessKeyId),
    );
    assert.equal(iamSigners.size, 1);
    assert.ok([...iamSigners][0].startsWith("ASIA"));
    await assertInvariant(c);
  }, 1);
});

Deno.test("rotate through a profile whose source holds the keys: STS in the source's own region", async () => {
  await setup(async (c) => {
    // A chain-wide AWS_REGION fills only a source profile's gaps (as the credential chain
    // resolves it): the stored key is checked in alice's own region.
    await Deno.writeTextFile(
      c.home.env.AWS_CONFIG_FILE,
      "[profile child]\nsource_profile = alice\n",
      {
        append: true,
      },
    );
    const r = await runCli(["rotate", "--no-session", "child"], {
      env: { ...c.env, AWS_REGION: "us-west-2" },
    });
    assert.equal(r.code, 0, r.stderr);
    const checks = c.sts.callsOf("GetCallerIdentity");
    assert.ok(checks.length >= 2, "the old key and the new key are checked");
    assert.deepEqual([...new Set(checks.map((x) => x.region))], ["eu-west-1"]);
    await assertInvariant(c);
  });
});

Deno.test("rotate waits, with a progress line, for a new key IAM has not made valid yet", async () => {
  await setup(async (c) => {
    c.sts.newKeyInvalidFor = 2;
    const r = await runCli(["rotate", "alice"], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Waiting for IAM to make the new key valid\.\.\n/);
    const key = await assertInvariant(c);
    assert.deepEqual(c.sts.accessKeysOf("alice"), [key]);
  });
});

Deno.test("rotate: DeleteAccessKey denied: exit 1, new key stored, old key named with the fix", async () => {
  await setup(async (c) => {
    c.sts.actionFaults.set("DeleteAccessKey", [{ kind: "denied" }]);
    const r = await runCli(["rotate", "alice"], { env: c.env });
    assert.equal(r.code, 1);
    const line = r.stderr.trim().split("\n").pop()!;
    const key = await assertInvariant(c);
    assert.notEqual(key, ALICE.accessKeyId);
    assert.ok(
      line.includes(`the vault holds ${key} for profile 'alice' (verified: it works)`),
      line,
    );
    assert.ok(
      line.includes(
        `the old key ${ALICE.accessKeyId} still exists in IAM: aws iam delete-access-key --user-name alice --access-key-id ${ALICE.accessKeyId}`,
      ),
      line,
    );
    assert.ok(!r.stderr.includes("secret"), "no secret printed");
  });
});

Deno.test("two rotates of one profile at once: one waits for the other; IAM keeps only the stored key", async () => {
  await setup(async (c) => {
    // The first rotation's CreateAccessKey is held (as a slow MFA prompt would hold it) while a
    // second rotation starts, until that one has deleted the old key (or for 4 s: it may wait).
    let holding!: () => void;
    const held = new Promise<void>((r) => holding = r);
    let release!: () => void;
    const released = new Promise<void>((r) => release = r);
    let first = true;
    c.sts.onAction = async (action) => {
      if (action !== "CreateAccessKey" || !first) return;
      first = false;
      holding();
      await Promise.race([released, new Promise((r) => setTimeout(r, 4_000))]);
    };
    c.sts.afterAction = (action) => {
      if (action === "DeleteAccessKey") release();
      return Promise.resolve();
    };
    // The second with -n: no MFA code (the ledger would wait for the next code window).
    const [a, b] = await Promise.all([
      runCli(["rotate", "alice"], { env: c.env }),
      held.then(() => runCli(["rotate", "-n", "alice"], { env: c.env })),
    ]);
    c.sts.onAction = undefined;
    c.sts.afterAction = undefined;
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const key = await assertInvariant(c);
    assert.notEqual(key, ALICE.accessKeyId);
    assert.deepEqual(c.sts.accessKeysOf("alice"), [key]);
  });
});
