/** lib/timer.ts: fires once after its delay, never after a cancel, and a cancelled timer does not
 * hold the process (checked in a child: it exits at once, not after the timer's delay). */
import assert from "node:assert/strict";
import { after, sleep } from "../../lib/timer.ts";

Deno.test("after: fires once after the delay; a cancel before stops it", async () => {
  let fired = 0;
  const start = performance.now();
  after(30, () => fired++);
  const cancel = after(10, () => fired += 100);
  cancel();
  await sleep(60);
  assert.equal(fired, 1);
  assert.ok(performance.now() - start >= 30);
});

Deno.test("after: odd delays (negative, NaN, fractions, beyond 2^31 ms) do not throw", async () => {
  let fired = 0;
  after(-5, () => fired++);
  after(Number.NaN, () => fired++);
  after(0.5, () => fired++);
  const far = after(2 ** 40, () => fired += 100);
  await sleep(20);
  far();
  assert.equal(fired, 3);
});

Deno.test("after: a cancelled timer does not keep the process alive", async () => {
  const code = `import { after } from ${
    JSON.stringify(new URL("../../lib/timer.ts", import.meta.url).href)
  };
    const cancel = after(20_000, () => console.log("fired"));
    cancel();`;
  const start = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.doesNotMatch(new TextDecoder().decode(out.stdout), /fired/);
  assert.ok(ms < 15_000, `the child waited for a cancelled timer (${ms} ms)`);
});
