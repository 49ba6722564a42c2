/**
 * Turns the output of one or more `deno test` runs (with NO_COLOR=1) into the plain line CI
 * reads: `N passed, M failed`, followed by `, K skipped` when tests were ignored (skipped with
 * a reason). A run that crashed before its summary (a type error, a module that fails to load)
 * or ran no test counts as failed: a broken suite never reads as a pass.
 *
 * Usage: deno run --allow-read scripts/ci_summary.ts <test-log> <exit-code> [<test-log>
 *   <exit-code>]... [other-failures]
 * `other-failures` counts failed checks outside the tests (fmt, lint, check).
 */

/** Counts of one CI run. */
export interface CiCounts {
  passed: number;
  failed: number;
  /** Ignored tests (`Deno.test({ ignore })`): skipped, each with a printed reason. */
  skipped: number;
}

// Deno's closing line: `ok | 12 passed (3 steps) | 0 failed | 1 ignored (40ms)`,
// or `FAILED | 11 passed | 1 failed | 2 filtered out (40ms)`.
const SUMMARY =
  /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed\b(?: \(\d+ steps?\))?(?: \| (\d+) ignored\b)?/;

/** Reads the counts from `deno test` output and its exit code. */
export function summarizeDenoTest(output: string, exitCode: number): CiCounts {
  let counts: CiCounts | undefined;
  for (const line of output.split(/\r?\n/)) {
    const match = SUMMARY.exec(line.trim());
    // The last one wins: Deno prints its summary after every test's own output.
    if (match) {
      counts = {
        passed: Number(match[1]),
        failed: Number(match[2]),
        skipped: Number(match[3] ?? 0),
      };
    }
  }
  if (!counts) return { passed: 0, failed: 1, skipped: 0 }; // crashed before the summary
  if (counts.passed + counts.failed === 0) return { ...counts, failed: 1 }; // ran no test
  if (exitCode !== 0 && counts.failed === 0) return { ...counts, failed: 1 };
  return counts;
}

/** Adds the counts of several runs. */
export function addCounts(runs: CiCounts[]): CiCounts {
  return runs.reduce(
    (sum, c) => ({
      passed: sum.passed + c.passed,
      failed: sum.failed + c.failed,
      skipped: sum.skipped + c.skipped,
    }),
    { passed: 0, failed: 0, skipped: 0 },
  );
}

/** The plain closing line. */
export function formatCounts(counts: CiCounts): string {
  const line = `${counts.passed} passed, ${counts.failed} failed`;
  return counts.skipped > 0 ? `${line}, ${counts.skipped} skipped` : line;
}

async function readLog(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    console.error(`ci_summary: cannot read ${path}: ${err instanceof Error ? err.message : err}`);
    return "";
  }
}

if (import.meta.main) {
  const args = [...Deno.args];
  const other = args.length % 2 === 1 ? Number(args.pop()) || 0 : 0;
  if (args.length === 0) {
    console.error(
      "usage: ci_summary.ts <test-log> <exit-code> [<test-log> <exit-code>]... [other-failures]",
    );
    Deno.exit(2);
  }
  const runs: CiCounts[] = [];
  for (let i = 0; i < args.length; i += 2) {
    runs.push(summarizeDenoTest(await readLog(args[i]), Number(args[i + 1])));
  }
  const counts = addCounts(runs);
  counts.failed += other;
  console.log(formatCounts(counts));
  Deno.exit(counts.failed === 0 ? 0 : 1);
}
