/**
 * The single-file build: `scripts/bundle.ts` writes one JavaScript file that runs on its own
 * (outside the project folder) and behaves like `deno run main.ts` for commands that never call
 * AWS, with commander's Node modules shimmed and the AWS SDK left out until first use.
 */
import assert from "node:assert/strict";
import { bundle } from "../../scripts/bundle.ts";
import { type CliResult, runCli } from "../support/cli.ts";
import { TestSts } from "../support/test_sts.ts";
import { vaultHome } from "../support/vault_home.ts";

const CONFIG = `[default]
region = eu-west-1

[profile work]
region = eu-west-1

[profile prod]
source_profile = work
role_arn = arn:aws:iam::222222222222:role/admin
`;

async function runFile(file: string, args: string[], env: Record<string, string>, cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", file, ...args],
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", NO_COLOR: "1", ...env },
    clearEnv: true,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("the bundled single file runs like main.ts", async (t) => {
  const home = await vaultHome(CONFIG);
  const { dir, env } = home;
  try {
    const file = await bundle({ output: `${dir}/aws-vault.js` });
    const same = (bundled: CliResult, source: CliResult) => {
      assert.equal(bundled.stderr, source.stderr);
      assert.equal(bundled.stdout, source.stdout);
      assert.equal(bundled.code, source.code);
    };

    await t.step("loads no Node module at startup and no AWS SDK", async () => {
      // esbuild hoists every static import of a Node or npm module to the top of the bundle,
      // even one made by a module that main.ts loads lazily: each costs startup time.
      const lines = (await Deno.readTextFile(file)).split("\n");
      assert.deepEqual(lines.filter((l) => /^import .* from "(node|npm):/.test(l)), []);
      assert.deepEqual(lines.filter((l) => l.includes('import("@aws-sdk/')), []);
    });

    await t.step("--help", async () => {
      const bundled = await runFile(file, ["--help"], env, dir);
      assert.equal(bundled.code, 0, bundled.stderr);
      assert.match(bundled.stdout, /^Usage: aws-vault /);
      same(bundled, await runCli(["--help"], { env, cwd: dir }));
    });

    await t.step("--version is embedded", async () => {
      const bundled = await runFile(file, ["--version"], env, dir);
      const project = JSON.parse(
        await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
      );
      assert.equal(bundled.stdout, `${project.version}\n`, bundled.stderr);
    });

    await t.step("list --profiles reads AWS_CONFIG_FILE", async () => {
      const bundled = await runFile(file, ["list", "--profiles"], env, dir);
      assert.equal(bundled.code, 0, bundled.stderr);
      assert.deepEqual(bundled.stdout.trim().split("\n").sort(), ["default", "prod", "work"]);
      same(bundled, await runCli(["list", "--profiles"], { env, cwd: dir }));
    });

    await t.step("a usage error is one line and exit code 2", async () => {
      const bundled = await runFile(file, ["list", "--no-such-flag"], env, dir);
      assert.equal(bundled.code, 2);
      assert.match(bundled.stderr, /^aws-vault: error: .*--no-such-flag.*\n$/);
      same(bundled, await runCli(["list", "--no-such-flag"], { env, cwd: dir }));
    });
    await t.step("export calls STS through the AWS SDK it imports on first use", async () => {
      const user = {
        name: "work",
        accessKeyId: "AKIATESTBUNDLE000001",
        secretAccessKey: "bundle-secret-key-000000000000000000000",
      };
      const sts = new TestSts([user]);
      try {
        await home.addKeys("work", user.accessKeyId, user.secretAccessKey);
        const stsEnv = { ...env, AWS_ENDPOINT_URL: sts.url };
        const bundled = await runFile(file, ["export", "--format=json", "work"], stsEnv, dir);
        assert.equal(bundled.code, 0, bundled.stderr);
        const json = JSON.parse(bundled.stdout);
        assert.match(json.AccessKeyId, /^ASIA/);
        assert.ok(json.SessionToken);
        assert.equal(sts.callsOf("GetSessionToken").length, 1);
      } finally {
        await sts.close();
      }
    });
  } finally {
    await home.cleanup();
  }
});
