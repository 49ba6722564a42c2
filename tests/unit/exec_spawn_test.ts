/**
 * exec's child, started through the C library (lib/exec/posix_spawn.ts) and through
 * Deno.Command: the same exit codes, signals, lookup and errors either way, only the given
 * environment, every signal at its default and none blocked in the child.
 */
import assert from "node:assert/strict";
import { libcSpawner, type Spawner } from "../../lib/exec/posix_spawn.ts";
import { runChild } from "../../lib/exec/run_child.ts";
import { signalName, signalNumber } from "../../lib/exec/signal_numbers.ts";
import { UserError } from "../../lib/errors.ts";

const linux = Deno.build.os === "linux";
const libc = linux ? libcSpawner() : undefined;
const SPAWNERS: [string, Spawner | null][] = [["Deno.Command", null]];
if (libc) SPAWNERS.push(["posix_spawn", libc]);

/** Runs `sh -c script` through runChild; the exit code, what it reported, and its stdout. */
async function sh(script: string, spawner: Spawner | null, env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/out`;
    const reports: string[] = [];
    const code = await runChild("sh", ["-c", `exec >${out}; ${script}`], {
      env: { PATH: "/usr/bin:/bin", ...env },
      interactive: false,
      report: (t) => reports.push(t),
      spawner,
    });
    return { code, reports, stdout: await Deno.readTextFile(out).catch(() => "") };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "posix_spawn: available on Linux with FFI allowed (else exec falls back, said here)",
  ignore: !linux,
  fn() {
    assert.ok(libc, "libcSpawner() gave no spawner on Linux with --allow-ffi");
  },
});

for (const [label, spawner] of SPAWNERS) {
  Deno.test(`runChild (${label}): exit codes, signals, lookup and environment`, async () => {
    assert.equal((await sh("exit 0", spawner)).code, 0);
    assert.equal((await sh("exit 7", spawner)).code, 7);
    assert.equal((await sh("exit 255", spawner)).code, 255);

    const term = await sh("kill -TERM $$", spawner);
    assert.equal(term.code, 143);
    assert.deepEqual(term.reports, ["sh was killed by SIGTERM"]);
    // SIGPIPE ends a writer quietly, as in a shell pipeline.
    const pipe = await sh("kill -PIPE $$", spawner);
    assert.deepEqual([pipe.code, pipe.reports], [141, []]);

    // Only the given environment, values intact (spaces, =, newlines, non-ASCII).
    const env = await sh("env", spawner, { A_B: "x y=z\nw", UNICODE: "ünï" });
    const lines = env.stdout.split("\n");
    assert.ok(lines.includes("A_B=x y=z"), env.stdout);
    assert.ok(env.stdout.includes("UNICODE=ünï"));
    assert.ok(!env.stdout.includes("HOME="), "our HOME leaked into the child");

    await assert.rejects(
      () =>
        runChild("no-such-command-xyz", [], {
          env: { PATH: "/usr/bin:/bin" },
          interactive: false,
          report: () => {},
          spawner,
        }),
      (err: unknown) => err instanceof UserError && err.exitCode === 127,
    );
  });
}

Deno.test({
  name: "runChild (posix_spawn): the child starts with default signal actions and none blocked",
  ignore: !libc,
  async fn() {
    // Deno (Rust) ignores SIGPIPE; a child that inherited that would not die in `... | head`.
    const { stdout } = await sh("grep -E '^Sig(Ign|Blk)' /proc/self/status", libc!);
    const field = (name: string) =>
      BigInt(`0x${
        /^Sig\w+:\s*([0-9a-f]+)/m.exec(
          stdout.split("\n").find((l) => l.startsWith(name)) ?? "",
        )?.[1] ?? "ffff"
      }`);
    assert.equal(field("SigBlk"), 0n);
    assert.equal(field("SigIgn") & (1n << 12n), 0n, "SIGPIPE (13) is ignored in the child");
    for (const n of [1, 2, 3, 15]) assert.equal(field("SigIgn") & (1n << BigInt(n - 1)), 0n);
  },
});

Deno.test({
  name: "posix_spawn: missing, non-executable and NUL-carrying commands are refused as Deno would",
  ignore: !libc,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/script`, "#!/bin/sh\nexit 0\n", { mode: 0o644 });
      const run = (command: string, args: string[] = []) =>
        runChild(command, args, {
          env: { PATH: dir },
          interactive: false,
          report: () => {},
          spawner: libc,
        });
      const codeOf = async (p: Promise<number>) => {
        try {
          return await p;
        } catch (err) {
          return err instanceof UserError ? err.exitCode : -1;
        }
      };
      assert.equal(await codeOf(run(`${dir}/missing`)), 127);
      assert.equal(await codeOf(run(`${dir}/script`)), 126);
      // Not executable: not a PATH hit either (as a shell and Go's LookPath).
      assert.equal(await codeOf(run("script")), 127);
      assert.equal(await codeOf(run(`${dir}`)), 126);
      await assert.rejects(() => run("/bin/echo", ["a\0b"]), /NUL/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("signal tables: a number names the signal of that OS (macOS has no SIGPWR or SIGSTKFLT)", () => {
  const cases: [number, string, string][] = [
    [15, "SIGTERM", "SIGTERM"],
    [16, "SIGSTKFLT", "SIGURG"],
    [29, "SIGIO", "SIGINFO"],
    [30, "SIGPWR", "SIGUSR1"],
    [31, "SIGSYS", "SIGUSR2"],
  ];
  for (const [n, linux, darwin] of cases) {
    assert.equal(signalName(n, "linux"), linux);
    assert.equal(signalName(n, "darwin"), darwin);
    assert.equal(signalNumber(linux, "linux"), n);
    assert.equal(signalNumber(darwin, "darwin"), n);
  }
  assert.equal(signalNumber("SIGPWR", "darwin"), undefined);
  assert.equal(signalName(64, "linux"), undefined);
});
