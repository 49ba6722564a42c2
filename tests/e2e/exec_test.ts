/** `aws-vault exec` end to end: the child's environment, argv, exit code and signals. */
import assert from "node:assert/strict";
import { cliCommand, runCli } from "../support/cli.ts";
import { TestSts } from "../support/test_sts.ts";
import { type VaultHome, vaultHome } from "../support/vault_home.ts";
import { readUntil } from "../support/read_until.ts";
import { ignoreWithout } from "../support/peers.ts";
import { PTY, runOnPty } from "../support/pty.ts";

const noPty = await ignoreWithout(PTY);

const M = "arn:aws:iam::111111111111:mfa/jonsmith";
const JON = {
  name: "jonsmith",
  accessKeyId: "AKIATESTJONSMITH0001",
  secretAccessKey: "jon-secret-key-0000000000000000000000000",
};

/** A vault with jonsmith's keys, an MFA script printing 135790, and the test STS. */
async function setup(
  fn: (home: VaultHome, env: Record<string, string>, sts: TestSts) => Promise<void>,
) {
  const sts = new TestSts([JON]);
  const home = await vaultHome("");
  const script = `${home.dir}/mfa.sh`;
  await Deno.writeTextFile(script, "#!/bin/sh\necho 135790\n", { mode: 0o700 });
  await Deno.writeTextFile(
    home.env.AWS_CONFIG_FILE,
    `[profile jonsmith]\nregion = eu-west-1\nmfa_serial = ${M}\nmfa_process = ${script}\n`,
  );
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    sts.allowMfaCode(M, "135790");
    await fn(home, { ...home.env, AWS_ENDPOINT_URL: sts.url }, sts);
  } finally {
    await home.cleanup();
    await sts.close();
  }
}

function envOf(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout.split("\n").filter((l) => l.includes("=")).map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

Deno.test("exec sets the child environment of aws-vault, and no secret is in any argv", async () => {
  await setup(async (home, env) => {
    const scan =
      'for f in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$f" 2>/dev/null; echo; done > "$SCAN"; env';
    const r = await runCli(["exec", "--debug", "jonsmith", "--", "/bin/sh", "-c", scan], {
      env: {
        ...env,
        SCAN: `${home.dir}/argv.txt`,
        AWS_PROFILE: "jonsmith",
        AWS_SECURITY_TOKEN: "stale",
        AWS_SDK_LOAD_CONFIG: "1",
        KEEP_ME: "yes",
      },
    });
    assert.equal(r.code, 0, r.stderr);
    const child = envOf(r.stdout);
    assert.equal(child.AWS_VAULT, "jonsmith");
    assert.equal(child.AWS_REGION, "eu-west-1");
    assert.equal(child.AWS_DEFAULT_REGION, "eu-west-1");
    assert.match(child.AWS_ACCESS_KEY_ID, /^ASIA/);
    assert.ok(child.AWS_SESSION_TOKEN);
    assert.match(child.AWS_CREDENTIAL_EXPIRATION, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(child.KEEP_ME, "yes");
    for (const gone of ["AWS_PROFILE", "AWS_SECURITY_TOKEN", "AWS_SDK_LOAD_CONFIG"]) {
      assert.equal(child[gone], undefined, gone);
    }
    const secrets = [
      JON.secretAccessKey,
      child.AWS_SECRET_ACCESS_KEY,
      child.AWS_SESSION_TOKEN,
      "135790",
      "test-passphrase",
    ];
    const argv = await Deno.readTextFile(`${home.dir}/argv.txt`);
    assert.ok(argv.includes("/proc/"), "the scan saw the processes");
    for (const s of secrets) {
      assert.ok(!argv.includes(s), "a secret is in some process's argv");
      assert.ok(!r.stderr.includes(s), "a secret is in the --debug output");
    }
  });
});

Deno.test("exec passes the child's argv verbatim and its exit code through", async () => {
  await setup(async (_home, env) => {
    const r = await runCli(
      [
        "exec",
        "-n",
        "jonsmith",
        "/bin/sh",
        "-c",
        'printf "%s|" "$@"; exit 7',
        "sh",
        "--region",
        "x",
        "-n",
        "--",
      ],
      { env },
    );
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, "--region|x|-n|--|");
  });
});

Deno.test("exec of a command that does not exist: one line, exit 127", async () => {
  await setup(async (_home, env) => {
    const r = await runCli(["exec", "-n", "jonsmith", "--", "no-such-command-xyz"], { env });
    assert.equal(r.code, 127);
    assert.equal(r.stderr, "aws-vault: error: exec: no-such-command-xyz: command not found\n");
  });
});

Deno.test("exec becomes the command (execve): same pid, its own death by a signal", async () => {
  await setup(async (_home, env) => {
    // As aws-vault's environment mode: the command replaces aws-vault, so its pid is the one
    // aws-vault was started with, and a signal that kills it is seen by the caller itself.
    const r = await runCli(
      ["exec", "-n", "jonsmith", "--", "/bin/sh", "-c", 'echo "pid $$ parent $PPID"; kill -9 $$'],
      { env, wrapper: ["sh", "-c", '"$@" & wait $!; echo "child $! exit $?"', "sh"] },
    );
    const [, pid, parent] = /pid (\d+) parent (\d+)/.exec(r.stdout) ?? [];
    const [, child, code] = /child (\d+) exit (\d+)/.exec(r.stdout) ?? [];
    assert.equal(pid, child, r.stdout);
    assert.notEqual(parent, pid);
    assert.equal(code, "137");
    // The shell says so ("Killed"), as it would of any command; aws-vault says nothing.
    assert.doesNotMatch(r.stderr, /aws-vault/);
  });
});

/** The command line of cliCommand() with every permission but FFI (a compiled binary: main.ts). */
function launcherWithoutFfi(): string[] {
  const launcher = cliCommand();
  const program = launcher.includes("-A")
    ? launcher.at(-1)!
    : new URL("../../main.ts", import.meta.url).pathname;
  const all = ["read", "write", "env", "run", "net", "sys"].map((p) => `--allow-${p}`);
  return [Deno.execPath(), "run", ...all, "--quiet", program];
}

Deno.test("exec without FFI permission on a pipe: the command runs as a child, no prompt", async () => {
  await setup(async (_home, env) => {
    // No --allow-ffi: exec cannot replace itself, so the command is its child (another pid).
    // With stdin not a terminal Deno cannot prompt, and exec tries FFI without asking first.
    const r = await runCli(
      ["exec", "-n", "jonsmith", "--", "/bin/sh", "-c", 'echo "pid $$"; exit 7'],
      {
        env,
        launcher: launcherWithoutFfi(),
        wrapper: ["sh", "-c", '"$@" & wait $!; echo "child $! exit $?"', "sh"],
      },
    );
    const [, pid] = /pid (\d+)/.exec(r.stdout) ?? [];
    const [, parent, code] = /child (\d+) exit (\d+)/.exec(r.stdout) ?? [];
    assert.ok(pid && parent && pid !== parent, r.stdout + r.stderr);
    assert.equal(code, "7");
    assert.equal(r.stderr, "");
  });
});

Deno.test("exec without FFI permission on a terminal: asked without a prompt, runs as a child", {
  ignore: noPty,
}, async () => {
  await setup(async (_home, env) => {
    // On a terminal Deno could prompt: exec asks for the permission without a prompt first.
    const args = ["exec", "-n", "jonsmith", "--", "/bin/sh", "-c", "echo ran; exit 3"];
    const r = await runOnPty(args, { env, launcher: launcherWithoutFfi(), timeout: 20 });
    assert.doesNotMatch(r.output, /Deno requests|--allow-ffi|Allow\?/, r.output);
    assert.match(r.output, /ran/);
    assert.equal(r.code, 3, r.output);
  });
});

Deno.test("exec says nothing when the child ends by SIGPIPE or SIGINT (a closed pipe, Ctrl-C)", async () => {
  await setup(async (_home, env) => {
    // `aws-vault exec p -- cmd | head -1`: the reader went away; shells print nothing for it.
    for (const [signal, code] of [["PIPE", 141], ["INT", 130]] as const) {
      const r = await runCli([
        "exec",
        "-n",
        "jonsmith",
        "--",
        "/bin/sh",
        "-c",
        `kill -${signal} $$`,
      ], {
        env,
      });
      assert.equal(r.code, code);
      assert.equal(r.stderr, "", signal);
    }
  });
});

Deno.test("SIGTERM and SIGINT sent to aws-vault reach the child", async () => {
  await setup(async (_home, env) => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const [cmd, ...args] = cliCommand();
      const trap = `trap 'echo got; exit 3' ${
        signal.slice(3)
      }; echo ready; while :; do sleep 0.05; done`;
      const child = new Deno.Command(cmd, {
        args: [...args, "exec", "-n", "jonsmith", "--", "/bin/sh", "-c", trap],
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env },
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = await readUntil(reader, (text) => text.includes("ready"));
      child.kill(signal);
      seen += await readUntil(reader, () => false);
      const status = await child.status;
      await child.stderr.cancel();
      assert.equal(status.code, 3, `${signal}: ${seen}`);
      assert.match(seen, /got/);
    }
  });
});

Deno.test("exec refuses to nest (--json is served there), and --json prints credential_process JSON", async () => {
  await setup(async (_home, env) => {
    const nested = await runCli(["exec", "jonsmith", "--", "true"], {
      env: { ...env, AWS_VAULT: "jonsmith" },
    });
    assert.equal(nested.code, 1);
    assert.match(
      nested.stderr,
      /exec: running in an existing aws-vault subshell .*'exit' from the subshell or unset AWS_VAULT to force/,
    );
    const json = await runCli(["exec", "--json", "jonsmith"], { env });
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).Version, 1);
    // `-j` is a credential_process, which may run inside a subshell (as `export --format=json`).
    const inside = await runCli(["exec", "-j", "jonsmith"], {
      env: { ...env, AWS_VAULT: "other" },
    });
    assert.equal(inside.code, 0, inside.stderr);
    assert.equal(JSON.parse(inside.stdout).AccessKeyId, JSON.parse(json.stdout).AccessKeyId);
    const server = await runCli(["exec", "--ecs-server", "--json", "jonsmith"], { env });
    assert.equal(server.code, 2);
    assert.equal(server.stderr, "aws-vault: error: --ecs-server cannot be used with --json\n");
  });
});
