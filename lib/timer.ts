/**
 * Timers for the command line's paths. In Deno 2.9 the first `setTimeout` or `setInterval` of a
 * process loads Deno's Node timers (ext:deno_node/timers.ts and about 20 modules behind it):
 * ~30 ms measured here, on commands that otherwise take 40. `AbortSignal.timeout` runs on Deno's
 * web timers and costs nothing of the kind; once nobody listens to its signal, the timer no
 * longer keeps the process alive (so a cancelled timer never delays the exit).
 */

/** The longest delay a timer takes (2^31 - 1 ms, as setTimeout; more would fire at once). */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** Calls `fn` after `ms` milliseconds unless the returned function is called first. */
export function after(ms: number, fn: () => void): () => void {
  const delay = Number.isFinite(ms) ? Math.min(Math.max(0, Math.floor(ms)), MAX_DELAY_MS) : 0;
  const signal = AbortSignal.timeout(delay);
  const listener = () => fn();
  signal.addEventListener("abort", listener, { once: true });
  return () => signal.removeEventListener("abort", listener);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => void after(ms, resolve));
}
