/** Small assertion helpers for tests (JSR is unreachable, so no @std/assert). */

/** Awaits `fn`, which must reject with an instance of `type`; returns that error. */
export async function rejection<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof type) return err;
    throw new Error(`expected ${type.name}, got ${err}`, { cause: err });
  }
  throw new Error(`expected ${type.name}, but the call succeeded`);
}
