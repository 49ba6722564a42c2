/**
 * The CI closing line comes from real `deno test` output: passes, failures, steps and ignored
 * tests are counted as Deno reports them, and a suite that crashes never reads as a pass.
 */
import assert from "node:assert/strict";
import { formatCounts, summarizeDenoTest } from "../../scripts/ci_summary.ts";

const SCRIPT = new URL("../../scripts/ci_summary.ts", import.meta.url).pathname;

/** Runs `deno test` on one test file with this text; returns its output and exit code. */
async function denoTest(
  source: string,
  flags: string[] = [],
): Promise<{ output: string; code: number }> {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-ci-" });
  try {
    await Deno.writeTextFile(`${dir}/sample_test.ts`, source);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--no-config", ...flags, "sample_test.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { output: dec.decode(out.stdout) + dec.decode(out.stderr), code: out.code };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const MIXED = `
  Deno.test("a", () => {});
  Deno.test("b", async (t) => { await t.step("s1", () => {}); await t.step("s2", () => {}); });
  Deno.test({ name: "c", ignore: true, fn() {} });
  Deno.test({ name: "e", ignore: true, fn() {} });
  Deno.test("d", () => { throw new Error("boom"); });
`;

Deno.test("counts passed, failed and ignored tests, not steps", async () => {
  const run = await denoTest(MIXED);
  assert.notEqual(run.code, 0);
  assert.deepEqual(summarizeDenoTest(run.output, run.code), { passed: 2, failed: 1, skipped: 2 });
});

Deno.test("reads the summary of a --parallel run", async () => {
  const run = await denoTest(MIXED, ["--parallel"]);
  assert.deepEqual(summarizeDenoTest(run.output, run.code), { passed: 2, failed: 1, skipped: 2 });
});

Deno.test("the line names skipped tests only when there are some", () => {
  assert.equal(formatCounts({ passed: 3, failed: 0, skipped: 0 }), "3 passed, 0 failed");
  assert.equal(formatCounts({ passed: 3, failed: 1, skipped: 2 }), "3 passed, 1 failed, 2 skipped");
  assert.match(
    formatCounts({ passed: 3, failed: 1, skipped: 2 }),
    /^\d+ passed, \d+ failed(, \d+ skipped)?$/,
  );
});

Deno.test("a suite that fails type checking counts as failed", async () => {
  const run = await denoTest(`const n: number = "not a number"; Deno.test("x", () => {});`);
  assert.deepEqual(summarizeDenoTest(run.output, run.code), { passed: 0, failed: 1, skipped: 0 });
});

Deno.test("a run with no test counts as failed", async () => {
  const run = await denoTest(`export const nothing = 1;`);
  assert.deepEqual(summarizeDenoTest(run.output, run.code), { passed: 0, failed: 1, skipped: 0 });
});

Deno.test("a non-zero exit after an all-green summary still counts as a failure", () => {
  const output = "ok | 3 passed | 0 failed (5ms)\nerror: Leaking async ops\n";
  assert.deepEqual(summarizeDenoTest(output, 1), { passed: 3, failed: 1, skipped: 0 });
  assert.deepEqual(summarizeDenoTest(output, 0), { passed: 3, failed: 0, skipped: 0 });
});

Deno.test("the script prints the plain line last and adds failed static checks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-ci-" });
  try {
    await Deno.writeTextFile(`${dir}/test.log`, "ok | 7 passed (2 steps) | 0 failed (1s)\n");
    const run = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", SCRIPT, `${dir}/test.log`, ...args],
        stdout: "piped",
      }).output();
      return { code: out.code, lines: new TextDecoder().decode(out.stdout).trim().split("\n") };
    };
    const green = await run("0");
    assert.equal(green.code, 0);
    assert.equal(green.lines.at(-1), "7 passed, 0 failed");
    const lintFailed = await run("0", "1");
    assert.equal(lintFailed.code, 1);
    assert.equal(lintFailed.lines.at(-1), "7 passed, 1 failed");
    // Two runs (the suite, then the e2e suite against the bundle) add up; a crashed one fails.
    await Deno.writeTextFile(`${dir}/e2e.log`, "ok | 2 passed | 0 failed | 1 ignored (1s)\n");
    await Deno.writeTextFile(`${dir}/crash.log`, "error: Module not found\n");
    const both = await run("0", `${dir}/e2e.log`, "0", "0");
    assert.equal(both.code, 0);
    assert.equal(both.lines.at(-1), "9 passed, 0 failed, 1 skipped");
    const crashed = await run("0", `${dir}/crash.log`, "1");
    assert.equal(crashed.code, 1);
    assert.equal(crashed.lines.at(-1), "7 passed, 1 failed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
