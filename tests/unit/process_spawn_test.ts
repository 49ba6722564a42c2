/** lib/process: one PATH lookup, one spawn helper, one spawn-error mapping. */
import assert from "node:assert/strict";
import { lookPath } from "../../lib/process/path_lookup.ts";
import { libcReplacer } from "../../lib/exec/execve.ts";
import {
  ProgramLimitError,
  runProgram,
  SpawnError,
  spawnFailure,
} from "../../lib/process/spawn.ts";

Deno.test("lookPath: only absolute hits; empty and relative PATH entries are skipped", async () => {
  const dir = await Deno.makeTempDir();
  // A relative directory that does hold the tool (cwd is never changed: test files run in
  // parallel in one process).
  const rel = await Deno.makeTempDir({ dir: ".", prefix: ".path-lookup-" });
  try {
    await Deno.writeTextFile(`${rel}/tool`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/tool`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/plain`, "not executable", { mode: 0o644 });
    assert.equal(await lookPath("tool", `/nonexistent:${dir}/`), `${dir}/tool`);
    assert.equal(await lookPath("plain", dir), undefined);
    assert.equal(await lookPath("tool", undefined), undefined);
    const relName = rel.replace(/^\.\//, "");
    for (const path of ["", ":", rel, relName, `${relName}/`, `:${rel}`]) {
      assert.equal(await lookPath("tool", path), undefined, `PATH=${JSON.stringify(path)}`);
    }
    assert.equal(await lookPath(`${dir}/tool`, ""), `${dir}/tool`);
    assert.equal(await lookPath(`${dir}/plain`, ""), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(rel, { recursive: true });
  }
});

Deno.test("lookPath with the C library's access(2) probe gives the same answers", {
  ignore: Deno.build.os !== "linux",
}, async () => {
  const libc = libcReplacer();
  assert.ok(libc, "no C library with --allow-ffi on Linux");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/tool`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/plain`, "not executable", { mode: 0o644 });
    await Deno.mkdir(`${dir}/sub/tool`, { recursive: true });
    await Deno.symlink(`${dir}/missing`, `${dir}/dangling`);
    const asked: string[] = [];
    const mayExist = (file: string) => (asked.push(file), libc.mayExist(file));
    const cases: [string, string][] = [
      ["tool", `/nonexistent:${dir}/sub:${dir}`],
      ["plain", dir],
      ["dangling", dir],
      ["tool", `${dir}/plain:${dir}/nonexistent`],
      ["tool", `rel:${dir}`],
      ["nul\0tool", dir],
      [`${dir}/tool`, ""],
    ];
    for (const [name, path] of cases) {
      assert.equal(lookPath(name, path, { mayExist }), lookPath(name, path), `${name} on ${path}`);
    }
    assert.equal(lookPath("tool", `/nonexistent:${dir}`, { mayExist }), `${dir}/tool`);
    assert.ok(asked.includes("/nonexistent/tool"), "the probe is asked before the stat");
    assert.equal(libc.mayExist(`${dir}/tool`), true);
    assert.equal(libc.mayExist(`${dir}/nonexistent`), false);
    assert.equal(libc.mayExist(`${dir}/dangling`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runProgram: the given environment only, never the vault passphrase", async () => {
  const r = await runProgram("/bin/sh", ["-c", "env; cat"], {
    env: { PATH: "/usr/bin:/bin", AWS_VAULT_FILE_PASSPHRASE: "hunter2", KEEP: "yes" },
    stdin: "from stdin",
  });
  const text = new TextDecoder().decode(r.stdout);
  assert.equal(r.code, 0);
  assert.match(text, /^KEEP=yes$/m);
  assert.doesNotMatch(text, /AWS_VAULT_FILE_PASSPHRASE|hunter2/);
  assert.match(text, /from stdin$/);
  assert.equal(Deno.env.get("HOME") !== undefined && /^HOME=/m.test(text), false);
});

Deno.test("runProgram: exit codes, signals and captured stderr are returned, not thrown", async () => {
  const r = await runProgram("/bin/sh", ["-c", "echo oops >&2; exit 3"], { env: {} });
  assert.deepEqual([r.code, r.signal, r.stderr], [3, null, "oops\n"]);
  const k = await runProgram("/bin/sh", ["-c", "kill -TERM $$"], { env: {} });
  assert.equal(k.signal, "SIGTERM");
});

Deno.test("runProgram: a program that cannot start is a SpawnError with one reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/noexec`, "#!/bin/sh\n", { mode: 0o644 });
    const cases: [string, string][] = [
      [`${dir}/missing`, "not found"],
      ["no-such-program-anywhere", "not found"],
      [`${dir}/noexec`, "permission denied"],
    ];
    for (const [program, failure] of cases) {
      await assert.rejects(
        () => runProgram(program, [], { env: { PATH: dir } }),
        (e: unknown) => e instanceof SpawnError && e.failure === failure && e.program === program,
      );
    }
    assert.equal(spawnFailure(new Error("other")), "cannot be run");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runProgram: past its deadline a program is killed, even if a grandchild holds the pipes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The shell starts a sleeping grandchild that keeps stdout open, then hangs itself.
    const err = await caught(
      () =>
        runProgram("/bin/sh", ["-c", `sleep 30 & echo $! > ${dir}/pid; echo started; sleep 30`], {
          env: { PATH: "/usr/bin:/bin" },
          timeoutMs: 300,
        }),
    );
    assert.ok(err instanceof ProgramLimitError);
    assert.equal(err.limit, "timeout");
    const pid = Number(await Deno.readTextFile(`${dir}/pid`));
    Deno.kill(pid, "SIGKILL");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runProgram: a program printing more than maxOutputBytes is stopped", async () => {
  const err = await caught(
    () =>
      runProgram("/bin/sh", ["-c", "yes garbage"], {
        env: { PATH: "/usr/bin:/bin" },
        maxOutputBytes: 1 << 20,
      }),
  );
  assert.ok(err instanceof ProgramLimitError);
  assert.equal(err.limit, "output");
  const ok = await runProgram("/bin/sh", ["-c", "printf 12345"], {
    env: { PATH: "/usr/bin:/bin" },
    maxOutputBytes: 5,
    timeoutMs: 10_000,
  });
  assert.equal(new TextDecoder().decode(ok.stdout), "12345");
});

async function caught(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail("expected a rejection");
}
