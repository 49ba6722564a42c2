/** No profile given: `$AWS_PROFILE`, else the picker on a real terminal, else one error line. */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { ignoreWithout } from "../support/peers.ts";
import { PTY, runOnPty } from "../support/pty.ts";
import { TestSignin } from "../support/test_signin.ts";
import { TestSts } from "../support/test_sts.ts";
import { vaultHome } from "../support/vault_home.ts";

const noPty = await ignoreWithout(PTY);

const CONFIG = "[profile alpha]\n[profile beta-dev]\n[profile beta-prod]\nregion = eu-west-1\n";

Deno.test("export with no profile: a picker on the terminal (type to filter, arrows, Enter)", {
  ignore: noPty,
}, async () => {
  const home = await vaultHome(CONFIG);
  try {
    await home.addKeys("beta-prod", "AKIAPICKEDPROD", "picked-secret");
    await home.addKeys("beta-dev", "AKIAPICKEDDEV", "dev-secret");
    const r = await runOnPty(["export", "--no-session", "--format=env"], {
      env: home.env,
      steps: [
        ["Choose AWS profile: ", "beta"],
        ["> beta-dev", "\x1b[B"],
        ["> beta-prod", "\r"],
      ],
    });
    assert.deepEqual(r.pending, []);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /AWS_ACCESS_KEY_ID=AKIAPICKEDPROD/);
    assert.doesNotMatch(r.output, /AKIAPICKEDDEV/);
    // Ctrl-C at the picker: nothing chosen, exit 130, the terminal back to normal.
    const cancelled = await runOnPty(["export", "--no-session"], {
      env: home.env,
      steps: [["Choose AWS profile: ", "\x03"]],
    });
    assert.equal(cancelled.code, 130, cancelled.output);
    assert.match(cancelled.output, /aws-vault: error: prompt cancelled/);
    // $AWS_PROFILE comes first: no picker.
    const fromEnv = await runOnPty(["export", "--no-session"], {
      env: { ...home.env, AWS_PROFILE: "beta-dev" },
    });
    assert.equal(fromEnv.code, 0, fromEnv.output);
    assert.doesNotMatch(fromEnv.output, /Choose AWS profile/);
    assert.match(fromEnv.output, /AWS_ACCESS_KEY_ID=AKIAPICKEDDEV/);
  } finally {
    await home.cleanup();
  }
});

Deno.test("exec and export with no profile off a terminal: the one-line usage error", async () => {
  const home = await vaultHome(CONFIG);
  try {
    for (const args of [["export"], ["exec"]]) {
      const r = await runCli(args, { env: home.env });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr,
        "aws-vault: error: no profile given: name a profile or set AWS_PROFILE\n",
      );
    }
  } finally {
    await home.cleanup();
  }
});

Deno.test("login with no profile and no keys in the environment: the picker, as for export", {
  ignore: noPty,
}, async () => {
  const sts = new TestSts([
    { name: "prod", accessKeyId: "AKIAPICKEDPROD", secretAccessKey: "picked-secret" },
  ]);
  const signin = new TestSignin(sts);
  const home = await vaultHome(CONFIG);
  try {
    await home.addKeys("beta-prod", "AKIAPICKEDPROD", "picked-secret");
    const r = await runOnPty(["login", "-s"], {
      env: { ...home.env, AWS_ENDPOINT_URL: sts.url, AWS_VAULT_SIGNIN_ENDPOINT: signin.url },
      steps: [
        ["Choose AWS profile: ", "beta-p"],
        ["> beta-prod", "\r"],
      ],
    });
    assert.deepEqual(r.pending, []);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Action=login/);
    assert.equal(sts.callsOf("GetFederationToken")[0]?.accessKeyId, "AKIAPICKEDPROD");
    // Off a terminal: the one-line usage error.
    const off = await runCli(["login", "-s"], { env: home.env });
    assert.equal(off.code, 2, off.stderr);
    assert.match(off.stderr, /^aws-vault: error: no profile given and no AWS_ACCESS_KEY_ID/);
  } finally {
    await home.cleanup();
    await signin.close();
    await sts.close();
  }
});
