/**
 * The single-file build: `scripts/bundle.ts` writes one JavaScript file that carries everything
 * it runs. Copied alone to an empty folder and run with an empty Deno cache, it behaves like
 * `deno run main.ts`, loads no Node module at startup, and calls STS through the AWS SDK at the
 * version in deno.lock without fetching anything (CI also runs this offline, in a network
 * namespace with only loopback).
 */
import assert from "node:assert/strict";
import { bundle } from "../../scripts/bundle.ts";
import { type CliResult, launcherCommand, runCli } from "../support/cli.ts";
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

/** The client-sts version deno.json pins (and deno.lock locks). */
async function lockedStsVersion(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const spec: string = config.imports["@aws-sdk/client-sts"];
  return spec.slice(spec.lastIndexOf("@") + 1);
}

/** The unpacked program directories under base. */
async function programDirs(base: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(base)) {
    if (e.name.startsWith("program-")) out.push(`${base}/${e.name}`);
  }
  return out;
}

/** Every file under dir (recursively), relative to it. */
async function filesUnder(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const path = `${prefix}${e.name}`;
    if (e.isDirectory) out.push(...await filesUnder(dir, `${path}/`));
    else out.push(path);
  }
  return out.sort();
}

Deno.test("the bundled single file runs alone, offline, like main.ts", async (t) => {
  const home = await vaultHome(CONFIG);
  const { dir, env } = home;
  try {
    const built = await bundle({ output: `${dir}/build/aws-vault.js` });
    // Alone in an empty folder, with an empty Deno cache: nothing of the project to lean on.
    const alone = `${dir}/alone`;
    const denoDir = `${dir}/empty_deno_dir`;
    await Deno.mkdir(alone);
    await Deno.mkdir(denoDir);
    const file = `${alone}/aws-vault.js`;
    await Deno.copyFile(built, file);
    await Deno.chmod(file, 0o755);
    const bundledEnv = {
      ...env,
      DENO_DIR: denoDir,
      // The shebang (`#!/usr/bin/env -S deno run -A`) finds deno on PATH.
      PATH: `${Deno.execPath().replace(/\/[^/]*$/, "")}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    };
    const runFile = (args: string[], extra: Record<string, string> = {}) =>
      runCli(args, { env: { ...bundledEnv, ...extra }, cwd: alone, launcher: [file] });
    const runMain = (args: string[]) =>
      runCli(args, { env, cwd: dir, launcher: launcherCommand("main") });
    const same = (bundled: CliResult, source: CliResult) => {
      assert.equal(bundled.stderr, source.stderr);
      assert.equal(bundled.stdout, source.stdout);
      assert.equal(bundled.code, source.code);
    };

    await t.step("--help", async () => {
      const bundled = await runFile(["--help"]);
      assert.equal(bundled.code, 0, bundled.stderr);
      assert.match(bundled.stdout, /^usage: aws-vault /);
      same(bundled, await runMain(["--help"]));
    });

    await t.step("loads no Node or npm module at startup and names no registry", async () => {
      // The file is a bootstrap plus an archive; the first run of the program (not `--help`,
      // which the bootstrap prints itself) unpacks the program's modules.
      assert.equal((await runFile(["--version"])).code, 0);
      const text = await Deno.readTextFile(file);
      assert.deepEqual(text.split("\n").filter((l) => /^import /.test(l)), []);
      assert.equal(text.includes("https://registry.npmjs.org"), false);
      const [program] = await programDirs(`${dir}/.cache/aws-vault`);
      assert.ok(program, "the first run unpacked the program under $HOME/.cache/aws-vault");
      for (const name of await filesUnder(program)) {
        const module = await Deno.readTextFile(`${program}/${name}`);
        assert.equal(module.includes('"npm:'), false, `${name}: an npm: specifier is fetched`);
        if (name === "sdk.js") continue; // loaded at the first AWS call only
        // esbuild hoists every static import of a Node or npm module to the top of a module,
        // even one made by a module that main.ts loads lazily: each costs startup time.
        assert.doesNotMatch(module, /\bfrom\s*"(node|npm):/, name);
        assert.doesNotMatch(module, /\bimport\("@aws-sdk\//, name);
      }
    });

    await t.step("--version is embedded", async () => {
      const bundled = await runFile(["--version"]);
      const { VERSION } = await import("../../lib/version.ts");
      assert.equal(bundled.stdout, `${VERSION}\n`, bundled.stderr);
    });

    await t.step("list --profiles reads AWS_CONFIG_FILE", async () => {
      const bundled = await runFile(["list", "--profiles"]);
      assert.equal(bundled.code, 0, bundled.stderr);
      assert.deepEqual(bundled.stdout.trim().split("\n").sort(), ["default", "prod", "work"]);
      same(bundled, await runMain(["list", "--profiles"]));
    });

    await t.step("a usage error is one line and exit code 2", async () => {
      const bundled = await runFile(["list", "--no-such-flag"]);
      assert.equal(bundled.code, 2);
      assert.match(bundled.stderr, /^aws-vault: error: .*--no-such-flag.*\n$/);
      same(bundled, await runMain(["list", "--no-such-flag"]));
    });

    await t.step("export and exec call STS through the embedded, locked SDK", async () => {
      const user = {
        name: "work",
        accessKeyId: "AKIATESTBUNDLE000001",
        secretAccessKey: "bundle-secret-key-000000000000000000000",
      };
      const sts = new TestSts([user]);
      sts.roles.set("arn:aws:iam::222222222222:role/admin", { requireMfa: false });
      try {
        await home.addKeys("work", user.accessKeyId, user.secretAccessKey);
        const stsEnv = { AWS_ENDPOINT_URL: sts.url };
        const exported = await runFile(["export", "--format=json", "work"], stsEnv);
        assert.equal(exported.code, 0, exported.stderr);
        assert.equal(exported.stderr, "", "nothing downloaded, nothing printed");
        const json = JSON.parse(exported.stdout);
        assert.match(json.AccessKeyId, /^ASIA/);
        assert.ok(json.SessionToken);
        assert.equal(sts.callsOf("GetSessionToken").length, 1);
        const version = await lockedStsVersion();
        assert.match(
          sts.calls[0].userAgent,
          new RegExp(`aws-sdk-js/${version.replaceAll(".", "\\.")}\\b`),
        );

        // A role, through the same embedded SDK module.
        const exec = await runFile(
          ["exec", "prod", "--", "sh", "-c", 'printf %s "$AWS_ACCESS_KEY_ID"'],
          stsEnv,
        );
        assert.equal(exec.code, 0, exec.stderr);
        assert.match(exec.stdout, /^ASIA/);
        assert.equal(sts.callsOf("AssumeRole").length, 1);

        const list = await runFile(["list"]);
        assert.equal(list.code, 0, list.stderr);
        assert.match(list.stdout, /^work\s/m);
      } finally {
        await sts.close();
      }
      // Deno fetched nothing into the empty cache: no npm package, no remote module.
      const fetched = (await filesUnder(denoDir)).filter((f) => /^(npm|remote|dl)\//.test(f));
      assert.deepEqual(fetched, []);
    });

    await t.step("the embedded SDK has no default credential chain to fall back on", async () => {
      // A client given no credentials would find ambient ones (variables, ~/.aws files, ECS and
      // EC2 metadata) through the SDK's default chain; the bundle leaves that chain out.
      const [program] = await programDirs(`${dir}/.cache/aws-vault`);
      const sdk = await import(`file://${program}/sdk.js`);
      const text = await Deno.readTextFile(`${program}/sdk.js`);
      for (const part of ["credential_process", "AWS_WEB_IDENTITY_TOKEN_FILE", "sso_start_url"]) {
        assert.equal(text.includes(part), false, `no provider reading ${part}`);
      }
      assert.equal(text.includes("AWS_CONTAINER_CREDENTIALS"), false, "no ECS provider");
      const sts = new TestSts([]);
      try {
        const { STSClient, GetCallerIdentityCommand } = sdk["@aws-sdk/client-sts"];
        const client = new STSClient({ region: "us-east-1", endpoint: sts.url, maxAttempts: 1 });
        await assert.rejects(
          client.send(new GetCallerIdentityCommand({})),
          /default credential chain is not in this build/,
        );
        assert.equal(sts.calls.length, 0, "nothing was sent");
      } finally {
        await sts.close();
      }
    });
  } finally {
    await home.cleanup();
  }
});
