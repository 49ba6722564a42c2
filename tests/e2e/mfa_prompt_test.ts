/**
 * MFA prompts through the real CLI: `export --format=json` with stdout piped (as under
 * credential_process) picks a GUI driver by itself; recording stand-ins answer for zenity and
 * ykman, and our test STS checks the code it receives.
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { standIns } from "../support/stand_in.ts";
import { TestSts } from "../support/test_sts.ts";
import { vaultHome } from "../support/vault_home.ts";

const M = "arn:aws:iam::111111111111:mfa/jonsmith";
const JON = {
  name: "jonsmith",
  accessKeyId: "AKIATESTJONSMITH0001",
  secretAccessKey: "jon-secret-key-0000000000000000000000000",
};
const CONFIG = `[profile jonsmith]\nregion = eu-west-1\nmfa_serial = ${M}\n`;

/** A vault with Jon's keys, a test STS, and an empty stand-in directory as the whole PATH. */
async function setup(config = CONFIG) {
  const sts = new TestSts([JON]);
  const home = await vaultHome(config);
  const s = await standIns();
  await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
  return {
    sts,
    home,
    s,
    // Only the stand-ins on PATH: a dialog program installed on this machine cannot interfere.
    env: { ...home.env, AWS_ENDPOINT_URL: sts.url, PATH: s.dir },
    async cleanup() {
      await s.cleanup();
      await home.cleanup();
      await sts.close();
    },
  };
}

Deno.test("export with stdout piped asks zenity by itself; its code reaches STS once", async () => {
  const t = await setup();
  try {
    await t.s.add("zenity", { stdout: " 314159\n" });
    t.sts.allowMfaCode(M, "314159");
    const first = await runCli(["export", "--format=json", "jonsmith"], { env: t.env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).Version, 1);
    const calls = t.sts.callsOf("GetSessionToken");
    assert.equal(calls.length, 1);
    assert.equal(calls[0].params.SerialNumber, M);
    assert.equal(calls[0].params.TokenCode, "314159");
    assert.deepEqual((await t.s.calls("zenity")).map((c) => c.argv), [
      ["--entry", "--title", "aws-vault", "--text", `Enter MFA code for ${M}: `],
    ]);
    // The session is cached: no second dialog, no second STS call.
    const second = await runCli(["export", "--format=json", "jonsmith"], { env: t.env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal((await t.s.calls("zenity")).length, 1);
    assert.equal(t.sts.callsOf("GetSessionToken").length, 1);
  } finally {
    await t.cleanup();
  }
});

Deno.test("with ykman and zenity installed, ykman wins and sees YKMAN_OATH_CREDENTIAL_NAME", async () => {
  const t = await setup();
  try {
    await t.s.add("zenity", { stdout: "111111\n" });
    await t.s.add("ykman", { stdout: "271828\n" });
    t.sts.allowMfaCode(M, "271828");
    const r = await runCli(["export", "--format=json", "jonsmith"], {
      env: { ...t.env, YKMAN_OATH_CREDENTIAL_NAME: "aws:jonsmith" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(t.sts.callsOf("GetSessionToken")[0].params.TokenCode, "271828");
    assert.deepEqual((await t.s.calls("ykman")).map((c) => c.argv), [
      ["oath", "accounts", "code", "--single", "aws:jonsmith"],
    ]);
    assert.deepEqual(await t.s.calls("zenity"), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("Cancel in the dialog: one error line, exit 1, no STS call", async () => {
  const t = await setup();
  try {
    await t.s.add("zenity", { exitCode: 1 });
    const r = await runCli(["export", "--format=json", "jonsmith"], { env: t.env });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "aws-vault: error: MFA prompt cancelled: zenity exited with status 1\n");
    assert.equal(t.sts.calls.length, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("--prompt kdialog without kdialog installed: one clear line, exit 1", async () => {
  const t = await setup();
  try {
    await t.s.add("zenity", { stdout: "314159\n" });
    const r = await runCli(["export", "--format=json", "--prompt", "kdialog", "jonsmith"], {
      env: t.env,
    });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "aws-vault: error: the 'kdialog' prompt driver needs the kdialog program, which is not on PATH\n",
    );
    assert.deepEqual(await t.s.calls("zenity"), []);
    assert.equal(t.sts.calls.length, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a failing mfa_process: the error line names neither its command nor what it printed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-mfa-process-" });
  const helper = `${dir}/otp`;
  await Deno.writeTextFile(
    helper,
    "#!/bin/sh\necho 'otp: vault locked (token s3cr3t-token)' >&2\necho 999999\nexit 5\n",
    { mode: 0o700 },
  );
  const t = await setup(`${CONFIG}mfa_process = ${helper} --password hunter2\n`);
  try {
    await t.s.add("zenity", { stdout: "314159\n" });
    const r = await runCli(["export", "--format=json", "jonsmith"], { env: t.env });
    assert.equal(r.code, 1);
    const errorLines = r.stderr.split("\n").filter((l) => l.startsWith("aws-vault:"));
    assert.deepEqual(errorLines, [
      "aws-vault: error: MFA prompt cancelled: mfa_process exited with status 5",
    ]);
    assert.ok(!r.stderr.includes("hunter2"));
    assert.ok(!r.stderr.includes("999999"));
    // mfa_process comes before any prompt driver.
    assert.deepEqual(await t.s.calls("zenity"), []);
    assert.equal(t.sts.calls.length, 0);
  } finally {
    await t.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
