/**
 * MFA codes are never sent twice (issue 14 item 10): the used-code ledger checks and records in
 * one step under its lock, a live lock holder is never broken as stale however long it holds
 * (an MFA prompt may take minutes), and a lock whose pid now belongs to another process is
 * broken at once.
 */
import assert from "node:assert/strict";
import { MfaCodes } from "../../lib/prompt/mfa.ts";
import { fileLedger } from "../../lib/prompt/used_codes.ts";
import { withLock } from "../../lib/fs/lock.ts";

const M = "arn:aws:iam::111111111111:mfa/shared";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mfa-lock-faults-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("item 10: two profiles sharing a device, in parallel, send one code once", async () => {
  await withDir(async (dir) => {
    const ledgerPath = `${dir}/mfa-codes-used.json`;
    const codes = () =>
      new MfaCodes({
        driver: () => Promise.resolve(() => Promise.resolve("123456")),
        ledger: fileLedger(ledgerPath, (fn) => withLock(`${dir}/ledger.lock`, fn)),
        now: () => new Date(1_700_000_000_000),
        notice: () => {},
        os: Deno.build.os,
      });
    for (let trial = 0; trial < 5; trial++) {
      await Deno.remove(ledgerPath).catch(() => {});
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () => codes().code({ serial: M, fixedCode: "123456" })),
      );
      const sent = results.filter((r) => r.status === "fulfilled");
      assert.equal(sent.length, 1, JSON.stringify(results.map((r) => r.status)));
    }
  });
});

Deno.test("item 10: a live holder is never broken as stale, however long it holds", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/session.lock`;
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    let inside = 0;
    let maxInside = 0;
    const enter = async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await held;
      inside--;
    };
    const first = withLock(path, enter, { staleMs: 20 });
    await new Promise((r) => setTimeout(r, 50));
    // A second waiter past the stale age must wait, then time out, not break the lock.
    await assert.rejects(
      () => withLock(path, () => Promise.resolve(), { staleMs: 20, timeoutMs: 300 }),
      /timed out waiting for lock/,
    );
    assert.equal(maxInside, 1);
    release();
    await first;
  });
});

Deno.test("item 10: a lock whose pid was reused by another process is broken at once", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/session.lock`;
    // A live process that is not the holder: it started after the lock was written.
    const other = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          pid: other.pid,
          host: Deno.hostname(),
          created: Date.now(),
          nonce: "dead0000",
          start: "1",
        }),
      );
      let ran = false;
      await withLock(path, () => {
        ran = true;
        return Promise.resolve();
      }, { timeoutMs: 2000 });
      assert.ok(ran);
    } finally {
      other.kill();
      await other.status;
    }
  });
});
