/**
 * exec's child, started through the C library (lib/exec/posix_spawn.ts) and through
 * Deno.Command: the same exit codes, signals, lookup and errors either way, only the given
 * environment, every signal at its default and none blocked in the child.
 */
import assert from "node:assert/strict";
import { cCommand } from "../../lib/exec/libc.ts";
import { libcReplacer } from "../../lib/exec/execve.ts";
import { libcSpawner, type Spawner } from "../../lib/exec/posix_spawn.ts";
import { runChild } from "../../lib/exec/run_child.ts";
import { signalName, signalNumber } from "../../lib/exec/signal_numbers.ts";
import { UserError } from "../../lib/errors.ts";
import { commandPeer, ignoreWithout, python3, requirePeers } from "../support/peers.ts";

const linux = Deno.build.os === "linux";
const PYTHON = commandPeer("python3", "python3", ["-S", "-c", "import signal"]);
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

/**
 * Runs a Deno process that calls execOrRunChild with `command args`; its exit code, stdout and
 * stderr, and the pid it had before the call.
 */
async function execIn(
  command: string,
  args: string[],
  options: { replacer?: "none"; ignoring?: string; blocking?: boolean } = {},
) {
  const module = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
  const script = [
    `import { execOrRunChild } from ${module("../../lib/exec/exec_or_run.ts")};`,
    `import { errorLine, exitCodeOf } from ${module("../../lib/errors.ts")};`,
    `console.log("before " + Deno.pid);`,
    `try {`,
    `  Deno.exit(await execOrRunChild(${JSON.stringify(command)}, ${JSON.stringify(args)}, {`,
    `    env: { PATH: "/usr/bin:/bin", ONLY: "this" }, interactive: false,`,
    `    report: (t) => console.error("report: " + t),`,
    options.replacer === "none" ? "    replacer: null," : "",
    `  }));`,
    `} catch (err) {`,
    `  console.error(errorLine(err));`,
    `  Deno.exit(exitCodeOf(err));`,
    `}`,
  ].join("\n");
  // `ignoring`: started as nohup starts it, with these signals ignored.
  // `blocking`: started by a parent that left SIGUSR1 and SIGTERM blocked (a shell cannot).
  const [cmd, ...cmdArgs] = options.ignoring
    ? ["sh", "-c", `trap "" ${options.ignoring}; exec "$@"`, "sh", Deno.execPath()]
    : options.blocking
    ? [
      await python3(),
      "-S",
      "-c",
      "import os, signal, sys\n" +
      "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1, signal.SIGTERM])\n" +
      "os.execv(sys.argv[1], sys.argv[1:])",
      Deno.execPath(),
    ]
    : [Deno.execPath()];
  const out = await new Deno.Command(cmd, {
    args: [...cmdArgs, "eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  return {
    code: out.code,
    signal: out.signal,
    stdout,
    stderr: new TextDecoder().decode(out.stderr),
    before: /before (\d+)/.exec(stdout)?.[1],
  };
}

Deno.test({
  name: "execOrRunChild: the command replaces the process (pid, defaults, environment, exit code)",
  ignore: !linux,
  async fn() {
    const r = await execIn("sh", [
      "-c",
      'echo "pid $$"; grep -E "^SigIgn" /proc/self/status; env | sort; exit 7',
    ]);
    assert.equal(r.code, 7, r.stderr);
    assert.equal(/pid (\d+)/.exec(r.stdout)?.[1], r.before, "the same pid: no child");
    // (The mask is checked without a shell below: sh clears its own mask when it starts.)
    // None of the signals Deno ignores or handles stays ignored (SIGPIPE above all). (Deno's
    // own child processes, this one included, start with glibc's 32 and 33 ignored.)
    const ignored = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(r.stdout)?.[1]}`);
    for (const name of ["SIGHUP", "SIGINT", "SIGQUIT", "SIGPIPE", "SIGTERM", "SIGCHLD"] as const) {
      const n = BigInt(signalNumber(name)!);
      assert.equal((ignored >> (n - 1n)) & 1n, 0n, `${name} is ignored`);
    }
    // Only the given environment (sh adds PWD, SHLVL and _ itself).
    const vars = r.stdout.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) =>
      l.split("=")[0]
    );
    assert.deepEqual(vars.filter((v) => !["PWD", "SHLVL", "_"].includes(v)), ["ONLY", "PATH"]);
    assert.equal(r.stderr, "");
  },
});

Deno.test({
  name: "execOrRunChild: a signal ignored when aws-vault started (nohup) stays ignored",
  ignore: !linux,
  async fn() {
    const r = await execIn("sh", ["-c", 'grep -E "^SigIgn" /proc/self/status'], {
      ignoring: "HUP INT",
    });
    assert.equal(r.code, 0, r.stderr);
    const ignored = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(r.stdout)?.[1]}`);
    const bit = (name: Deno.Signal) => (ignored >> BigInt(signalNumber(name)! - 1)) & 1n;
    assert.equal(bit("SIGHUP"), 1n);
    assert.equal(bit("SIGINT"), 1n);
    assert.equal(bit("SIGPIPE"), 0n, "SIGPIPE, which Deno ignores, is back at its default");
    assert.equal(bit("SIGTERM"), 0n);
  },
});

Deno.test({
  name: "execOrRunChild: signals blocked when aws-vault started are not blocked in the command",
  ignore: !linux || await ignoreWithout(PYTHON),
  async fn() {
    await requirePeers(PYTHON);
    // grep itself replaces the process (a shell would clear the mask on its own start).
    const r = await execIn("grep", ["-E", "^(SigBlk|Pid):", "/proc/self/status"], {
      blocking: true,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(/Pid:\s+(\d+)/.exec(r.stdout)?.[1], r.before, "the same pid: no child");
    assert.match(r.stdout, /SigBlk:\s+0+\n/);
  },
});

Deno.test({
  name: "execOrRunChild: what cannot be exec'd runs as a child or fails as runChild says",
  ignore: !linux,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // Not executable: execve fails, everything is put back, and runChild says why.
      await Deno.writeTextFile(`${dir}/plain`, "echo hi\n", { mode: 0o644 });
      const denied = await execIn(`${dir}/plain`, []);
      assert.equal(denied.code, 126, denied.stderr);
      assert.match(denied.stderr, /permission denied/);
      const missing = await execIn("no-such-command-xyz", []);
      assert.equal(missing.code, 127);
      assert.match(missing.stderr, /no-such-command-xyz: command not found/);
      const absent = await execIn(`${dir}/absent`, []);
      assert.equal(absent.code, 127);
      // A NUL cannot reach execve: runChild refuses it in one line.
      const nul = await execIn("sh", ["-c", "echo a\0b"]);
      assert.equal(nul.code, 126);
      assert.match(nul.stderr, /NUL/);
      // Without the C library (replacer: null) the command runs as a child: another pid.
      const child = await execIn("sh", ["-c", 'echo "pid $$"; exit 3'], { replacer: "none" });
      assert.equal(child.code, 3);
      assert.notEqual(/pid (\d+)/.exec(child.stdout)?.[1], child.before);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "libcReplacer: a failed execve leaves SIGPIPE ignored and the blocked signals as they were",
  ignore: !linux,
  async fn() {
    const replacer = libcReplacer();
    assert.ok(replacer, "no C library with --allow-ffi on Linux");
    // This thread's own mask (the replacer changes the calling thread's), read by this thread.
    const status = () => {
      const text = Deno.readTextFileSync("/proc/thread-self/status");
      const field = (name: string) =>
        BigInt(`0x${new RegExp(`${name}:\\s+([0-9a-f]+)`).exec(text)?.[1]}`);
      return { ignored: field("SigIgn"), blocked: field("SigBlk") };
    };
    const bit = (mask: bigint, name: Deno.Signal) => (mask >> BigInt(signalNumber(name)! - 1)) & 1n;
    const libc = Deno.dlopen("libc.so.6", {
      pthread_sigmask: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
    });
    const usr1 = new Uint8Array(128);
    const n = signalNumber("SIGUSR1")! - 1; // a sigset_t is a bit array, signal 1 at bit 0
    usr1[n >> 3] = 1 << (n & 7);
    const dir = await Deno.makeTempDir();
    try {
      const [SIG_BLOCK, SIG_UNBLOCK] = [0, 1];
      libc.symbols.pthread_sigmask(SIG_BLOCK, Deno.UnsafePointer.of(usr1), null);
      const before = status();
      assert.equal(bit(before.ignored, "SIGPIPE"), 1n, "Deno ignores SIGPIPE");
      assert.equal(bit(before.blocked, "SIGUSR1"), 1n);
      await Deno.writeTextFile(`${dir}/plain`, "echo hi\n", { mode: 0o644 });
      assert.equal(replacer.mayExist(`${dir}/plain`), true);
      assert.equal(replacer.mayExist(`${dir}/absent`), false);
      replacer.replace(`${dir}/plain`, ["plain"], { PATH: "/usr/bin:/bin" }); // EACCES: returns
      assert.deepEqual(status(), before);
      libc.symbols.pthread_sigmask(SIG_UNBLOCK, Deno.UnsafePointer.of(usr1), null);
    } finally {
      libc.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** The strings a NULL-terminated pointer array points to. */
function cStrings(array: BigUint64Array): string[] {
  assert.equal(array.at(-1), 0n, "not NULL-terminated");
  return Array.from(
    array.subarray(0, -1),
    (p) => Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(p)!),
  );
}

Deno.test("cCommand: path, argv and environment as C strings, empty and non-ASCII ones too", () => {
  const argv = ["prog", "", "with space", "ü€𝄞", "-n", "a=b", ""];
  const env = { EMPTY: "", "A_B": "x=y=z", UNI: "ß" };
  const c = cCommand("/usr/bin/prog", argv, env);
  assert.equal(new TextDecoder().decode(c.path), "/usr/bin/prog\0");
  assert.deepEqual(cStrings(c.argv), argv);
  assert.deepEqual(cStrings(c.envp), ["EMPTY=", "A_B=x=y=z", "UNI=ß"]);
  assert.deepEqual(cStrings(cCommand("/bin/true", [], {}).envp), []);
  for (const bad of [["a\0b"], ["ok"]]) {
    const badEnv: Record<string, string> = bad[0] === "ok" ? { K: "v\0w" } : {};
    assert.throws(() => cCommand("/bin/x", bad, badEnv), TypeError);
  }
  assert.throws(() => cCommand("/bin/\0x", [], {}), TypeError);
});
