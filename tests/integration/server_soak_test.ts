/** Soak: 10,000 requests from 32 concurrent clients (loopback): no errors, memory stays put. */
import assert from "node:assert/strict";
import { runSoak, soakLine } from "../support/soak.ts";

Deno.test("soak: 10,000 requests from 32 clients against the ECS and EC2 servers", async () => {
  const f = await runSoak(10_000, 32);
  console.log(soakLine(f));
  assert.equal(f.errors, 0);
  assert.ok(f.requests >= 10_000);
  // The heap, not the RSS: other test files share the process under --parallel.
  assert.ok(f.heapAfterMiB - f.heapBeforeMiB < 64, "memory grew during the soak");
});
