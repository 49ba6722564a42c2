/**
 * `aws-vault rotate` against moto's IAM and STS: keys are created and deleted in moto, the vault
 * ends up holding the new key, the old one is gone; through sessions, roles, several
 * source_profile hops, `-n`, and an IAM user with a path. One MFA prompt per rotation.
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { type Moto, startMoto } from "../support/moto.ts";
import { commandPeer, ignoreWithout, requirePeers } from "../support/peers.ts";

const MOTO = commandPeer("moto_server", "moto_server", ["--help"]);
const noMoto = await ignoreWithout(MOTO);
import { type VaultHome, vaultHome } from "../support/vault_home.ts";

const TRUST =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}';

interface Ctx {
  moto: Moto;
  home: VaultHome;
  env: Record<string, string>;
  oldKey: string;
  mfaLog: string;
}

async function withMoto(fn: (c: Ctx) => Promise<void>): Promise<void> {
  const moto = await startMoto();
  const home = await vaultHome("");
  try {
    // Set up through AWS's SDK (the AWS CLI takes seconds per call on a loaded machine).
    const sdk = await import("@aws-sdk/client-iam");
    const admin = new sdk.IAMClient({
      region: "us-east-1",
      endpoint: moto.url,
      credentials: { accessKeyId: "AKIAMOTOADMIN0000000", secretAccessKey: "moto-admin-secret" },
    });
    let key: { AccessKeyId: string; SecretAccessKey: string };
    try {
      await admin.send(new sdk.CreateUserCommand({ UserName: "alice", Path: "/team/ops/" }));
      const out = await admin.send(new sdk.CreateAccessKeyCommand({ UserName: "alice" }));
      key = out.AccessKey as typeof key;
      await admin.send(
        new sdk.CreateRoleCommand({ RoleName: "deploy", AssumeRolePolicyDocument: TRUST }),
      );
    } finally {
      admin.destroy();
    }
    const mfaLog = `${home.dir}/mfa.log`;
    const mfa = `${home.dir}/mfa.sh`;
    // A new code each time: aws-vault never sends a code twice (it would wait for the next).
    const script =
      `#!/bin/sh\necho asked >> '${mfaLog}'\nprintf '%06d\\n' "$(wc -l < '${mfaLog}')"\n`;
    await Deno.writeTextFile(mfa, script, { mode: 0o700 });
    const M = "arn:aws:iam::123456789012:mfa/alice";
    await Deno.writeTextFile(
      home.env.AWS_CONFIG_FILE,
      `[profile alice]\nregion = us-east-1\nmfa_serial = ${M}\nmfa_process = ${mfa}\n\n` +
        `[profile deploy]\nsource_profile = alice\nrole_arn = arn:aws:iam::123456789012:role/deploy\nmfa_serial = ${M}\nregion = us-east-1\n\n` +
        `[profile ops]\nsource_profile = deploy\nrole_arn = arn:aws:iam::123456789012:role/deploy\nregion = us-east-1\n\n` +
        `[profile unrelated]\nregion = us-east-1\n`,
    );
    await home.addKeys("alice", key.AccessKeyId, key.SecretAccessKey);
    await fn({
      moto,
      home,
      env: { ...home.env, AWS_ENDPOINT_URL: moto.url },
      oldKey: key.AccessKeyId,
      mfaLog,
    });
  } finally {
    await home.cleanup();
    await moto.stop();
  }
}

/** The key the vault holds for alice (export -n hands out the stored keys). */
async function storedKey(c: Ctx): Promise<string> {
  const r = await runCli(["export", "-n", "--format", "json", "alice"], { env: c.env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).AccessKeyId;
}

/** moto's IAM through AWS's own SDK (not our wrapper), signed by moto's admin. */
async function motoIam(c: Ctx) {
  const { IAMClient } = await import("@aws-sdk/client-iam");
  return new IAMClient({
    region: "us-east-1",
    endpoint: c.moto.url,
    credentials: { accessKeyId: "AKIAMOTOADMIN0000000", secretAccessKey: "moto-admin-secret" },
  });
}

async function motoKeys(c: Ctx): Promise<string[]> {
  const { ListAccessKeysCommand } = await import("@aws-sdk/client-iam");
  const iam = await motoIam(c);
  try {
    const out = await iam.send(new ListAccessKeysCommand({ UserName: "alice" }));
    return (out.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!).sort();
  } finally {
    iam.destroy();
  }
}

async function mfaPrompts(c: Ctx): Promise<number> {
  try {
    return (await Deno.readTextFile(c.mfaLog)).trim().split("\n").length;
  } catch {
    return 0;
  }
}

/** Rotates through `profile` and checks moto and the vault agree on the one new key. */
async function rotateAndCheck(c: Ctx, args: string[]): Promise<string> {
  const before = await storedKey(c);
  const r = await runCli(["rotate", ...args], { env: c.env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Created new access key \*{16}\w{4}\n/);
  assert.match(r.stderr, /Finished rotating access key\n$/);
  const after = await storedKey(c);
  assert.notEqual(after, before);
  assert.deepEqual(await motoKeys(c), [after]);
  // The old key is gone from IAM.
  const { GetAccessKeyLastUsedCommand } = await import("@aws-sdk/client-iam");
  const iam = await motoIam(c);
  try {
    await assert.rejects(
      iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: before })),
      /NoSuchEntity|not found|cannot be found/i,
    );
  } finally {
    iam.destroy();
  }
  // And the new one is alice's, as moto's STS says.
  const k = JSON.parse(
    (await runCli(["export", "-n", "--format", "json", "alice"], { env: c.env })).stdout,
  );
  const { STSClient, GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
  const sts = new STSClient({
    region: "us-east-1",
    endpoint: c.moto.url,
    credentials: { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey },
  });
  try {
    const who = await sts.send(new GetCallerIdentityCommand({}));
    assert.match(who.Arn ?? "", /:user\/team\/ops\/alice$/);
  } finally {
    sts.destroy();
  }
  return r.stderr;
}

Deno.test({
  name: "rotate alice (a session with MFA): one prompt, moto and the vault hold the new key",
  ignore: noMoto,
}, async () => {
  await requirePeers(MOTO);
  await withMoto(async (c) => {
    // A cached session of alice and of deploy, made from the old key.
    assert.equal((await runCli(["export", "alice"], { env: c.env })).code, 0);
    assert.equal((await runCli(["export", "deploy"], { env: c.env })).code, 0);
    const promptsBefore = await mfaPrompts(c);
    const err = await rotateAndCheck(c, ["alice"]);
    assert.match(err, /using a session from profile 'alice'/);
    assert.ok((await mfaPrompts(c)) - promptsBefore <= 1, "at most one MFA prompt");
    // Sessions made from the old key are gone.
    const sessions = await runCli(["list", "--sessions"], { env: c.env });
    assert.equal(sessions.stdout.trim(), "", sessions.stdout);
  });
});

Deno.test(
  { name: "rotate through a role, and through two source_profile hops", ignore: noMoto },
  async () => {
    await requirePeers(MOTO);
    await withMoto(async (c) => {
      let err = await rotateAndCheck(c, ["deploy"]);
      // Through the role: CreateAccessKey was signed by the role and named the user.
      assert.match(err, /stored for profile 'alice' using a session from profile 'deploy'/);
      err = await rotateAndCheck(c, ["ops"]);
      assert.match(err, /stored for profile 'alice' using a session from profile 'ops'/);
    });
  },
);

Deno.test({
  name: "rotate -n uses the stored keys themselves, even from a profile that only sources them",
  ignore: noMoto,
}, async () => {
  await requirePeers(MOTO);
  await withMoto(async (c) => {
    const before = await mfaPrompts(c);
    const err = await rotateAndCheck(c, ["-n", "deploy"]);
    assert.match(err, /stored for profile 'alice' using master credentials/);
    assert.equal(await mfaPrompts(c), before, "no MFA prompt with -n");
  });
});

Deno.test(
  { name: "rotate of a profile with no stored keys in its chain says so", ignore: noMoto },
  async () => {
    await requirePeers(MOTO);
    await withMoto(async (c) => {
      const r = await runCli(["rotate", "unrelated"], { env: c.env });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^aws-vault: error: no master credentials found for profile 'unrelated'/,
      );
      assert.deepEqual(await motoKeys(c), [c.oldKey]);
    });
  },
);
