/**
 * Durations as aws-vault spells them: Go duration strings (`90m`, `12h`, `1h30m`, `3600s`, `+2h`,
 * `1.5h`), up to Go's largest (2562047h47m16.854775807s). We also accept plain seconds (`3600`)
 * and surrounding spaces, which aws-vault rejects, and refuse negative durations, which Go parses
 * and AWS then refuses.
 */

/** Go's largest duration (2^63 - 1 nanoseconds), in milliseconds. */
const MAX_MS = 9_223_372_036_854.775807;

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3, // U+00B5, the micro sign
  "μs": 1e-3, // U+03BC, the Greek mu (Go accepts both)
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a duration into milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  const s = trimmed.startsWith("+") ? trimmed.slice(1) : trimmed;
  if (/^\d+$/.test(s)) return atMost(Number(s) * 1000);
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  const parts: [string, string][] = [];
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    parts.push([m[1], m[2]]);
    pos = re.lastIndex;
  }
  if (pos === 0) return undefined;
  // Near Go's limit a double cannot tell a nanosecond over it from one under: count exactly.
  if (Math.abs(total - MAX_MS) < 1) {
    return withinGoLimit(parts) ? Math.min(Math.round(total), Math.floor(MAX_MS)) : undefined;
  }
  return atMost(Math.round(total));
}

function atMost(ms: number): number | undefined {
  return ms <= MAX_MS ? ms : undefined;
}

/** Go's sum in integer nanoseconds (a fraction as Go scales it) against 2^63 - 1. */
function withinGoLimit(parts: [string, string][]): boolean {
  let ns = 0n;
  for (const [number, unit] of parts) {
    const unitNs = Math.round(UNIT_MS[unit] * 1e6);
    const [whole, fraction = ""] = number.split(".");
    ns += BigInt(whole || "0") * BigInt(unitNs);
    if (fraction !== "") {
      ns += BigInt(Math.trunc(Number(fraction) * (unitNs / 10 ** fraction.length)));
    }
  }
  return ns <= 2n ** 63n - 1n;
}

/** Formats milliseconds as a Go duration string truncated to seconds, e.g. `21m38s`, `1h0m0s`. */
export function formatDuration(ms: number): string {
  const negative = ms < 0;
  let secs = Math.floor(Math.abs(ms) / 1000);
  if (secs === 0) return "0s";
  const h = Math.floor(secs / 3600);
  secs -= h * 3600;
  const m = Math.floor(secs / 60);
  secs -= m * 60;
  let out = "";
  if (h > 0) out = `${h}h${m}m${secs}s`;
  else if (m > 0) out = `${m}m${secs}s`;
  else out = `${secs}s`;
  return negative ? `-${out}` : out;
}
