/**
 * 32 parallel `credential_process` calls for one profile with no cached session: exactly one
 * GetSessionToken and one MFA prompt (an `mfa_process` script that counts its runs).
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { TestSts } from "../support/test_sts.ts";
import { vaultHome } from "../support/vault_home.ts";

const M = "arn:aws:iam::111111111111:mfa/jonsmith";
const JON = {
  name: "jonsmith",
  accessKeyId: "AKIATESTJONSMITH0001",
  secretAccessKey: "jon-secret-key-0000000000000000000000000",
};

Deno.test("32 parallel export --format=json: one STS call, one MFA prompt, same credentials", async () => {
  const sts = new TestSts([JON]);
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-mfa-" });
  const counter = `${dir}/prompts`;
  const script = `${dir}/mfa.sh`;
  await Deno.writeTextFile(script, `#!/bin/sh\necho run >> '${counter}'\necho 246810\n`, {
    mode: 0o700,
  });
  const home = await vaultHome(`[profile jonsmith]\nmfa_serial = ${M}\nmfa_process = ${script}\n`);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    sts.allowMfaCode(M, "246810");
    const env = { ...home.env, AWS_ENDPOINT_URL: sts.url };
    const runs = await Promise.all(
      Array.from({ length: 32 }, () => runCli(["export", "--format=json", "jonsmith"], { env })),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const keys = new Set(runs.map((r) => JSON.parse(r.stdout).AccessKeyId));
    assert.equal(keys.size, 1);
    assert.equal(sts.callsOf("GetSessionToken").length, 1);
    assert.equal((await Deno.readTextFile(counter)).trim().split("\n").length, 1);
  } finally {
    await home.cleanup();
    await Deno.remove(dir, { recursive: true });
    await sts.close();
  }
});
