/**
 * `exec` and signals (issue 14 item 14): whatever signal the command dies of, the caller sees
 * 128+n (a realtime signal included); every catchable signal sent to aws-vault reaches the
 * command, which is never left running without us. exec replaces aws-vault with the command
 * (execve), so both hold natively; a child started otherwise (no FFI) is covered by
 * tests/unit/exec_spawn_test.ts.
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { UserError } from "../../lib/errors.ts";
import { CredentialStore, SessionStore } from "../../lib/store/mod.ts";
import { cliCommand, DENO_DIR, runCli } from "../support/cli.ts";

const PASS = "signals";

/**
 * Runs a command with every signal at its default action. A test started in the background by
 * a non-interactive shell inherits SIGINT and SIGQUIT ignored, and exec rightly keeps inherited
 * ignores (nohup), so without this the tests would depend on how the runner was started.
 */
const DEFAULT_SIGNALS = ["env", "--default-signal"];

async function vault(): Promise<{ home: string; env: Record<string, string> }> {
  const home = await Deno.makeTempDir({ prefix: "signals-e2e-" });
  await Deno.writeTextFile(`${home}/config`, "[profile work]\nregion = eu-west-1\n");
  const terminal = { readLine: () => Promise.reject(new UserError("no terminal")) };
  const keyring = new FileKeyring(`${home}/keys`, { passphrase: PASS, terminal });
  await new CredentialStore(keyring).set("work", { accessKeyId: "AKIASIG", secretAccessKey: "s" });
  await new SessionStore(keyring, () => new Date()).set(
    { type: "sts.GetSessionToken", profileName: "work", mfaSerial: "" },
    {
      accessKeyId: "ASIASIG",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: new Date(Date.now() + 3600_000),
    },
  );
  return {
    home,
    env: {
      HOME: home,
      AWS_CONFIG_FILE: `${home}/config`,
      AWS_VAULT_BACKEND: "file",
      AWS_VAULT_FILE_DIR: `${home}/keys`,
      AWS_VAULT_FILE_PASSPHRASE: PASS,
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    },
  };
}

/** Linux signal numbers of the signals a child may die of. */
const DEATHS: [string, number][] = [
  ["HUP", 1],
  ["INT", 2],
  ["QUIT", 3],
  ["ILL", 4],
  ["TRAP", 5],
  ["ABRT", 6],
  ["BUS", 7],
  ["FPE", 8],
  ["USR1", 10],
  ["SEGV", 11],
  ["USR2", 12],
  ["PIPE", 13],
  ["ALRM", 14],
  ["TERM", 15],
  ["STKFLT", 16],
  ["XCPU", 24],
  ["XFSZ", 25],
  ["VTALRM", 26],
  ["PROF", 27],
  ["IO", 29],
  ["PWR", 30],
  ["SYS", 31],
  ["RT1", 35],
  ["RT30", 64],
];

Deno.test("item 14: the child's death by any signal is exit code 128+n", async () => {
  if (Deno.build.os !== "linux") return;
  const { home, env } = await vault();
  try {
    for (let i = 0; i < DEATHS.length; i += 4) {
      await Promise.all(
        DEATHS.slice(i, i + 4).map(async ([name, n]) => {
          // exec replaces aws-vault (execve), so aws-vault itself dies of the signal, as
          // aws-vault does: what a shell then sees is the code to check. (Deno's own child
          // status cannot name a realtime signal.)
          const r = await runCli(["exec", "work", "--", "sh", "-c", `kill -${n} $$`], {
            env,
            wrapper: [...DEFAULT_SIGNALS, "sh", "-c", '"$@"; echo "exit $?" >&2', "sh"],
          });
          assert.match(r.stderr, new RegExp(`exit ${128 + n}\n$`), `SIG${name}: ${r.stderr}`);
          assert.doesNotMatch(r.stderr, /TypeError|at .*\.ts/, `SIG${name}`);
        }),
      );
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/** Catchable signals whose default action ends a process: each must reach the child. */
const SENT: [Deno.Signal, number][] = [
  ["SIGHUP", 1],
  ["SIGINT", 2],
  ["SIGQUIT", 3],
  ["SIGTRAP", 5],
  ["SIGABRT", 6],
  ["SIGBUS", 7],
  ["SIGUSR1", 10],
  ["SIGUSR2", 12],
  ["SIGALRM", 14],
  ["SIGTERM", 15],
  ["SIGSTKFLT", 16],
  ["SIGXCPU", 24],
  ["SIGXFSZ", 25],
  ["SIGVTALRM", 26],
  ["SIGPROF", 27],
  ["SIGIO", 29],
  ["SIGPWR", 30],
  ["SIGSYS", 31],
];

Deno.test("item 14: every catchable signal sent to aws-vault reaches the child; none is orphaned", async () => {
  if (Deno.build.os !== "linux") return;
  const { home, env } = await vault();
  try {
    for (let i = 0; i < SENT.length; i += 3) {
      await Promise.all(
        SENT.slice(i, i + 3).map(async ([signal, n]) => {
          const pidFile = `${home}/child-${n}.pid`;
          const script =
            `echo $$ > ${pidFile}; trap 'echo GOT-${n}; exit 7' ${n}; echo READY; while :; do sleep 0.05; done`;
          const [cmd, ...args] = [...DEFAULT_SIGNALS, ...cliCommand()];
          const proc = new Deno.Command(cmd, {
            args: [...args, "exec", "work", "--", "sh", "-c", script],
            env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DENO_DIR, ...env },
            clearEnv: true,
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
          let out = "";
          while (!out.includes("READY")) {
            const { value, done } = await reader.read();
            if (done) break;
            out += value;
          }
          proc.kill(signal);
          // Our exit first: a regression leaves the child running and holding the pipe open.
          // A signal that never arrives must fail the test, not hang it.
          const deadline = setTimeout(() => proc.kill("SIGKILL"), 10_000);
          const status = await proc.status;
          clearTimeout(deadline);
          await proc.stderr.cancel();
          const childPid = Number(await Deno.readTextFile(pidFile));
          const orphan = await Deno.stat(`/proc/${childPid}`).then(() => true, () => false);
          if (orphan) Deno.kill(childPid, "SIGKILL");
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            out += value;
          }
          assert.equal(orphan, false, `${signal}: the child was left running`);
          assert.match(out, new RegExp(`GOT-${n}`), `${signal} did not reach the child`);
          assert.equal(status.code, 7, `${signal}: exit code`);
        }),
      );
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
