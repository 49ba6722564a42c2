import assert from "node:assert/strict";
import { formatDuration, parseDuration } from "../../lib/duration.ts";

Deno.test("parseDuration accepts Go durations and plain seconds", () => {
  const cases: [string, number | undefined][] = [
    ["90m", 90 * 60_000],
    ["12h", 12 * 3_600_000],
    ["3600s", 3_600_000],
    ["1h30m", 90 * 60_000],
    ["1.5h", 90 * 60_000],
    ["500ms", 500],
    ["3600", 3_600_000],
    ["0", 0],
    [" 15m ", 15 * 60_000],
    ["", undefined],
    ["5x", undefined],
    ["h", undefined],
    ["1h 30m", undefined],
    ["-1h", undefined],
    ["10d", undefined],
    // Go's sign, its two micro signs, its largest duration; beyond that Go says "invalid".
    ["+2h", 2 * 3_600_000],
    ["+0", 0],
    ["+", undefined],
    ["++1h", undefined],
    ["1500µs", 2],
    ["1500μs", 2],
    ["2562047h", 2562047 * 3_600_000],
    ["2562047h47m16s", 9_223_372_036_000],
    ["2562048h", undefined],
    // At the limit itself, to the nanosecond (a double cannot tell these apart).
    ["2562047h47m16.854775807s", 9_223_372_036_854],
    ["2562047h47m16.854775s", 9_223_372_036_854],
    ["2562047h47m16.854775808s", undefined],
    ["9223372036854775807ns", 9_223_372_036_854],
    ["9223372036854775808ns", undefined],
    ["2562047h47m16854775807ns", 9_223_372_036_854],
    ["2562047h47m16854775808ns", undefined],
    [`${"9".repeat(400)}h`, undefined],
    ["9223372036855", undefined],
    [".", undefined],
    ["1.h", 3_600_000],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseDuration(text), want, text);
});

Deno.test("formatDuration prints Go's form truncated to seconds", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [999, "0s"],
    [38_000, "38s"],
    [21 * 60_000 + 38_500, "21m38s"],
    [3_600_000, "1h0m0s"],
    [8 * 3_600_000 + 61_000, "8h1m1s"],
    [-90_000, "-1m30s"],
  ];
  for (const [ms, want] of cases) assert.deepEqual(formatDuration(ms), want, String(ms));
});
