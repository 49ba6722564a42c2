/**
 * Durations as aws-vault spells them: Go duration strings (`90m`, `12h`, `1h30m`, `3600s`).
 * We also accept plain seconds (`3600`), which aws-vault rejects.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a duration into milliseconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  if (s === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : Math.round(total);
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
