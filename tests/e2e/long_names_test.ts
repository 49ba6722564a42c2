/**
 * A profile name too long for a session file name (issue 14 item 6): `exec` calls STS once,
 * caches the session under the long-name encoding, runs the child, and the next `exec` uses the
 * cached session (no second STS call, no second MFA code).
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { TestSts } from "../support/test_sts.ts";
import { vaultHome } from "../support/vault_home.ts";

const M = "arn:aws:iam::111111111111:mfa/long";
const USER = {
  name: "long",
  accessKeyId: "AKIATESTLONGNAME0001",
  secretAccessKey: "long-secret-key-00000000000000000000000",
};

Deno.test("item 6: a 240-character profile name gets a cached session; its MFA code is used once", async () => {
  const sts = new TestSts([USER]);
  const home = await vaultHome("");
  try {
    const profile = "p".repeat(230) + "-longname";
    const script = `${home.dir}/mfa.sh`;
    await Deno.writeTextFile(script, "#!/bin/sh\necho 246810\n", { mode: 0o700 });
    await Deno.writeTextFile(
      home.env.AWS_CONFIG_FILE,
      `[profile ${profile}]\nregion = eu-west-1\nmfa_serial = ${M}\nmfa_process = ${script}\n`,
    );
    await home.addKeys(profile, USER.accessKeyId, USER.secretAccessKey);
    sts.allowMfaCode(M, "246810");
    const env = { ...home.env, AWS_ENDPOINT_URL: sts.url };
    for (let run = 0; run < 2; run++) {
      const r = await runCli(["exec", profile, "--", "sh", "-c", 'echo "KEY=$AWS_ACCESS_KEY_ID"'], {
        env,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /KEY=ASIA/);
    }
    assert.equal(sts.callsOf("GetSessionToken").length, 1);
    for await (const e of Deno.readDir(`${home.dir}/keys`)) {
      assert.ok(new TextEncoder().encode(e.name).length <= 255, e.name);
    }
  } finally {
    await home.cleanup();
    await sts.close();
  }
});
