/** What an `mfa_process` command sees of aws-vault's environment. */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { TestSts } from "../support/test_sts.ts";
import { vaultHome } from "../support/vault_home.ts";

const M = "arn:aws:iam::111111111111:mfa/jonsmith";

Deno.test("mfa_process runs with our environment but never the vault passphrase", async () => {
  const sts = new TestSts([{
    name: "jonsmith",
    accessKeyId: "AKIATESTJONSMITH0001",
    secretAccessKey: "jon-secret-key-0000000000000000000000000",
  }]);
  const home = await vaultHome("");
  try {
    const script = `${home.dir}/mfa.sh`;
    await Deno.writeTextFile(script, `#!/bin/sh\nenv > "${home.dir}/mfa-env.txt"\necho 246810\n`, {
      mode: 0o700,
    });
    await Deno.writeTextFile(
      home.env.AWS_CONFIG_FILE,
      `[profile jonsmith]\nregion = eu-west-1\nmfa_serial = ${M}\nmfa_process = ${script}\n`,
    );
    await home.addKeys(
      "jonsmith",
      "AKIATESTJONSMITH0001",
      "jon-secret-key-0000000000000000000000000",
    );
    sts.allowMfaCode(M, "246810");
    const r = await runCli(["export", "--format=json", "jonsmith"], {
      env: { ...home.env, AWS_ENDPOINT_URL: sts.url, KEEP_ME: "yes" },
    });
    assert.equal(r.code, 0, r.stderr);
    const seen = await Deno.readTextFile(`${home.dir}/mfa-env.txt`);
    assert.match(seen, /^KEEP_ME=yes$/m, "the rest of the environment is passed on");
    assert.ok(!seen.includes("AWS_VAULT_FILE_PASSPHRASE"), "mfa_process got the passphrase");
    assert.ok(!seen.includes(home.env.AWS_VAULT_FILE_PASSPHRASE));
  } finally {
    await home.cleanup();
    await sts.close();
  }
});
