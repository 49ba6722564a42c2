/** `aws-vault export` end to end: file backend, our test STS, the session cache. */
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
const CONFIG = `[profile jonsmith]
region = eu-west-1
mfa_serial = ${M}
`;

Deno.test("export --format=json: one GetSessionToken, then served from the cache", async () => {
  const sts = new TestSts([JON]);
  const home = await vaultHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    sts.allowMfaCode(M, "123456");
    const env = { ...home.env, AWS_ENDPOINT_URL: sts.url };
    const first = await runCli(["export", "--format=json", "--mfa-token", "123456", "jonsmith"], {
      env,
    });
    assert.equal(first.code, 0, first.stderr);
    const json = JSON.parse(first.stdout);
    assert.deepEqual(Object.keys(json), [
      "Version",
      "AccessKeyId",
      "SecretAccessKey",
      "SessionToken",
      "Expiration",
    ]);
    assert.equal(json.Version, 1);
    assert.match(json.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const second = await runCli(["export", "--format=json", "jonsmith"], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), json);
    assert.equal(sts.callsOf("GetSessionToken").length, 1);
    const files = [...Deno.readDirSync(`${home.dir}/keys`)].map((e) => e.name);
    assert.ok(files.some((f) => f.startsWith("sts.GetSessionToken,am9uc21pdGg,")), files.join(" "));
  } finally {
    await home.cleanup();
    await sts.close();
  }
});

Deno.test("export formats env, export-env, ini, fish, powershell carry keys and region", async () => {
  const sts = new TestSts([JON]);
  const home = await vaultHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const env = { ...home.env, AWS_ENDPOINT_URL: sts.url };
    const run = async (format: string) => {
      const r = await runCli(["export", "-n", `--format=${format}`, "jonsmith"], { env });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    assert.equal(
      await run("env"),
      `AWS_ACCESS_KEY_ID=${JON.accessKeyId}\nAWS_SECRET_ACCESS_KEY=${JON.secretAccessKey}\nAWS_REGION=eu-west-1\nAWS_DEFAULT_REGION=eu-west-1\n`,
    );
    assert.match(await run("export-env"), /^export AWS_ACCESS_KEY_ID=AKIA/);
    assert.equal(
      await run("ini"),
      `[jonsmith]\naws_access_key_id=${JON.accessKeyId}\naws_secret_access_key=${JON.secretAccessKey}\nregion=eu-west-1\n`,
    );
    assert.match(await run("fish"), /^set -gx AWS_ACCESS_KEY_ID 'AKIA[A-Z0-9]+';\n/);
    assert.match(await run("powershell"), /^\$env:AWS_ACCESS_KEY_ID = 'AKIA[A-Z0-9]+'\n/);
    assert.equal(sts.calls.length, 0);
  } finally {
    await home.cleanup();
    await sts.close();
  }
});

Deno.test("export refuses to run inside an exec subshell, saying how to get out; JSON is served", async () => {
  const sts = new TestSts([JON]);
  const home = await vaultHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const env = { ...home.env, AWS_VAULT: "other", AWS_ENDPOINT_URL: sts.url };
    for (const format of [[], ["--format=env"], ["--format=export-env"], ["--format=ini"]]) {
      const r = await runCli(["export", ...format, "-n", "jonsmith"], { env });
      assert.equal(r.code, 1, format.join(""));
      assert.match(
        r.stderr,
        /^aws-vault: error: export: running in an existing aws-vault subshell .*'exit' from the subshell or unset AWS_VAULT/,
      );
      assert.equal(r.stderr.trim().split("\n").length, 1);
    }
    // A credential_process inside the subshell (`aws --profile work` in `aws-vault exec other`).
    const json = await runCli(["export", "--format=json", "-n", "jonsmith"], { env });
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).AccessKeyId, JON.accessKeyId);
  } finally {
    await home.cleanup();
    await sts.close();
  }
});
