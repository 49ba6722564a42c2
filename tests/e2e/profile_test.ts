/**
 * `aws-vault profile` as a user runs it: a real process, a real config file and the real file
 * backend in a temp HOME. Checks origins, the source chain, stored keys, and the one-line errors
 * for a malformed config, a loop and an unknown profile.
 */
import assert from "node:assert/strict";
import { openKeyring } from "../../backends/mod.ts";
import { newItem } from "../../backends/keyring.ts";
import type { GlobalOptions } from "../../lib/cli/global.ts";
import { type CliResult, runCli } from "../support/cli.ts";
import { testRuntime } from "../support/runtime.ts";

const CONFIG = `[default]
region = us-east-1
mfa_serial = arn:aws:iam::111111111111:mfa/jonsmith

[profile jonsmith]

[profile admin]
source_profile = jonsmith
role_arn = arn:aws:iam::111111111111:role/Admin
duration_seconds = 7200
`;

interface Home {
  dir: string;
  config: string;
  keys: string;
  run(args: string[], env?: Record<string, string>): Promise<CliResult>;
}

async function withHome(config: string | undefined, fn: (home: Home) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const home: Home = {
    dir,
    config: `${dir}/.aws/config`,
    keys: `${dir}/keys`,
    run: (args, env = {}) =>
      runCli(args, {
        env: {
          HOME: dir,
          // The subprocess must find the npm cache of this run, not one under the temp HOME.
          DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
          AWS_VAULT_BACKEND: "file",
          AWS_VAULT_FILE_DIR: `${dir}/keys`,
          AWS_VAULT_FILE_PASSPHRASE: "test-passphrase",
          ...env,
        },
      }),
  };
  try {
    if (config !== undefined) {
      await Deno.mkdir(`${dir}/.aws`, { mode: 0o700 });
      await Deno.writeTextFile(home.config, config);
    }
    await fn(home);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Stores long-term keys for a profile with the real file backend. */
async function storeKeys(home: Home, profile: string): Promise<void> {
  const options: GlobalOptions = {
    debug: false,
    backend: "file",
    keychain: "aws-vault",
    secretServiceCollection: "awsvault",
    fileDir: home.keys,
    keyctlScope: "user",
  };
  const runtime = testRuntime({
    env: { AWS_VAULT_FILE_PASSPHRASE: "test-passphrase" },
    home: home.dir,
  });
  const keyring = await openKeyring(options, runtime);
  const data = JSON.stringify({ AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "not-a-secret" });
  await keyring.set(newItem({ key: profile, data: new TextEncoder().encode(data) }));
}

/** A literal for a RegExp. */
function re(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function assertOneErrorLine(result: CliResult, pattern: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], pattern);
}

Deno.test("profile shows each value's origin and the chain to stored keys", async () => {
  await withHome(CONFIG, async (home) => {
    await storeKeys(home, "jonsmith");
    const r = await home.run(["profile", "admin"], { AWS_REGION: "eu-west-1" });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], `Profile admin (from [profile admin] in ${home.config})`);
    const row = (key: string) => lines.find((l) => l.startsWith(`  ${key} `))?.split(/\s{2,}/);
    assert.deepEqual(row("role_arn"), [
      "",
      "role_arn",
      "arn:aws:iam::111111111111:role/Admin",
      "[profile admin] line 9",
    ]);
    assert.deepEqual(row("mfa_serial"), [
      "",
      "mfa_serial",
      "arn:aws:iam::111111111111:mfa/jonsmith",
      "inherited from [default] line 3",
    ]);
    assert.deepEqual(row("region"), ["", "region", "eu-west-1", "environment AWS_REGION"]);
    assert.match(r.stdout, /AssumeRole 2h0m0s \(\[profile admin\] line 10\)/);
    assert.match(r.stdout, /GetSessionToken 8h0m0s \(chained, default\)/);
    assert.equal(
      lines.at(-2),
      "Source chain: admin -> jonsmith (stored credentials: yes)",
    );
  });
});

Deno.test("profile --json: flags beat environment; chain and stored keys", async () => {
  await withHome(CONFIG, async (home) => {
    const r = await home.run(["profile", "admin", "--json", "--region", "ap-south-1", "-d", "3h"], {
      AWS_REGION: "eu-west-1",
    });
    assert.equal(r.code, 0, r.stderr);
    const view = JSON.parse(r.stdout);
    assert.deepEqual(view.sourceChain, ["admin", "jonsmith"]);
    assert.equal(view.storedCredentials, "no");
    const region = view.profiles[0].values.find((v: { key: string }) => v.key === "region");
    assert.deepEqual(region.origin, { kind: "flag", flag: "--region" });
    assert.equal(region.value, "ap-south-1");
    const [assumeRole, sessionToken] = view.profiles[1].durations;
    assert.equal(assumeRole.milliseconds, 3 * 3_600_000);
    assert.deepEqual(sessionToken.origin, { kind: "flag", flag: "--duration" });
    assert.equal(sessionToken.chained, true);
  });
});

Deno.test("profile of stored keys without a config section works; the file is not created", async () => {
  await withHome(undefined, async (home) => {
    await storeKeys(home, "keys-only");
    const r = await home.run(["profile", "keys-only"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Profile keys-only \\(no section in ${re(home.config)}\\)`));
    assert.match(r.stdout, /Source chain: keys-only \(stored credentials: yes\)/);
    await assert.rejects(Deno.stat(home.config), Deno.errors.NotFound);
  });
});

Deno.test("profile of an unknown name fails with one line, exit 1", async () => {
  await withHome(CONFIG, async (home) => {
    const r = await home.run(["profile", "nope"]);
    assertOneErrorLine(
      r,
      new RegExp(`^aws-vault: error: profile 'nope' not found in ${re(home.config)}`),
    );
  });
});

Deno.test("a malformed config line fails with one line naming file:line, no stack trace", async () => {
  await withHome("[default]\nregion = x\nnot an ini line\n", async (home) => {
    const r = await home.run(["profile", "default"]);
    assertOneErrorLine(
      r,
      new RegExp(
        `^aws-vault: error: ${re(home.config)}:3: expected "key = value" or "\\[section\\]"$`,
      ),
    );
  });
});

Deno.test("an include_profile loop fails with one line showing the loop", async () => {
  await withHome(
    "[profile a]\ninclude_profile = b\n[profile b]\ninclude_profile = a\n",
    async (home) => {
      const r = await home.run(["profile", "a"]);
      assertOneErrorLine(
        r,
        new RegExp(
          `^aws-vault: error: loop detected in ${re(home.config)} for profile 'a': a -> b -> a$`,
        ),
      );
    },
  );
});
