/**
 * Turns the output of `deno test` (run with NO_COLOR=1) into the plain line CI reads:
 * `N passed, M failed`. A run that crashed before its summary (a type error, a module that
 * fails to load) or ran no test counts as failed: a broken suite never reads as a pass.
 *
 * Usage: deno run --allow-read scripts/ci_summary.ts <test-log> <test-exit-code> [other-failures]
 * `other-failures` counts failed checks outside the tests (fmt, lint, check).
 */

/** Counts of one CI run. */
export interface CiCounts {
  passed: number;
  failed: number;
}

// Deno's closing line: `ok | 12 passed (3 steps) | 0 failed | 1 ignored (40ms)`,
// or `FAILED | 11 passed | 1 failed (40ms)`.
const SUMMARY = /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed\b/;

/** Reads the counts from `deno test` output and its exit code. */
export function summarizeDenoTest(output: string, exitCode: number): CiCounts {
  let counts: CiCounts | undefined;
  for (const line of output.split(/\r?\n/)) {
    const match = SUMMARY.exec(line.trim());
    // The last one wins: Deno prints its summary after every test's own output.
    if (match) counts = { passed: Number(match[1]), failed: Number(match[2]) };
  }
  if (!counts) return { passed: 0, failed: 1 }; // crashed before the summary
  if (counts.passed + counts.failed === 0) return { passed: 0, failed: 1 }; // ran no test
  if (exitCode !== 0 && counts.failed === 0) return { passed: counts.passed, failed: 1 };
  return counts;
}

/** The plain closing line. */
export function formatCounts(counts: CiCounts): string {
  return `${counts.passed} passed, ${counts.failed} failed`;
}

if (import.meta.main) {
  const [logPath, exitCodeText, otherText = "0"] = Deno.args;
  if (!logPath || exitCodeText === undefined) {
    console.error("usage: ci_summary.ts <test-log> <test-exit-code> [other-failures]");
    Deno.exit(2);
  }
  let output = "";
  try {
    output = await Deno.readTextFile(logPath);
  } catch (err) {
    console.error(
      `ci_summary: cannot read ${logPath}: ${err instanceof Error ? err.message : err}`,
    );
  }
  const counts = summarizeDenoTest(output, Number(exitCodeText));
  counts.failed += Number(otherText) || 0;
  console.log(formatCounts(counts));
  Deno.exit(counts.failed === 0 ? 0 : 1);
}
