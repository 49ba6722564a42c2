/** lib/store safety: atomic writes survive SIGKILL; the cross-process lock serialises and recovers. */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { UserError } from "../../lib/errors.ts";
import { writeFileAtomic } from "../../lib/fs/atomic.ts";
import { withLock } from "../../lib/fs/lock.ts";
import { lockDir } from "../../lib/fs/lock_dir.ts";
import { sessionLockName } from "../../lib/vault/session_cache.ts";
import { testRuntime } from "../support/runtime.ts";
import { readUntil } from "../support/read_until.ts";

const WORKER = new URL("../support/store_worker.ts", import.meta.url).pathname;
const dec = new TextDecoder();

function worker(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", WORKER, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Reads rounds from the writer until it has finished `rounds` of them. */
async function waitForRound(child: Deno.ChildProcess, rounds: number): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const done = (text: string) => text.split("\n").includes(String(rounds));
  if (!done(await readUntil(reader, done))) throw new Error("writer ended early");
  reader.releaseLock();
}

Deno.test("writeFileAtomic replaces the file with mode 0600 and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f`, "old");
    await writeFileAtomic(`${dir}/f`, "new");
    assert.equal(await Deno.readTextFile(`${dir}/f`), "new");
    assert.equal((await Deno.stat(`${dir}/f`)).mode! & 0o777, 0o600);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["f"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGKILL during repeated writes leaves every item old or new, never corrupt or missing", async () => {
  const root = await Deno.makeTempDir({ prefix: "store-kill-" });
  const dir = `${root}/keys`;
  const terminal = { readLine: () => Promise.reject(new UserError("no terminal")) };
  try {
    for (let attempt = 0; attempt < 4; attempt++) {
      const child = worker(["write", dir]);
      await waitForRound(child, 1 + Math.floor(Math.random() * 3));
      // Kill at a random point of a later round.
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      child.kill("SIGKILL");
      await child.stdout.cancel().catch(() => {});
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL");
      const keyring = new FileKeyring(dir, { passphrase: "pw", terminal });
      assert.deepEqual((await keyring.keys()).sort(), ["k0", "k1", "k2", "k3", "k4"]);
      for (const key of await keyring.keys()) {
        const item = await keyring.get(key);
        assert.match(dec.decode(item!.data), /^round \d+$/, `${key} after kill ${attempt}`);
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("withLock serialises read-modify-write across processes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store-lock-" });
  try {
    const children = Array.from(
      { length: 4 },
      () => worker(["count", `${dir}/locks/x.lock`, `${dir}/n`, "25"]),
    );
    for (const c of children) {
      await c.stdout.cancel();
      assert.equal((await c.status).code, 0);
    }
    assert.equal(await Deno.readTextFile(`${dir}/n`), "100");
    assert.equal((await Deno.stat(`${dir}/locks`)).mode! & 0o777, 0o700);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${dir}/locks`)), [], "lock released");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withLock recovers a lock whose holder died or is too old, and times out on a live one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "store-stale-" });
  const lock = `${dir}/l.lock`;
  const info = (pid: number, created: number) =>
    JSON.stringify({ pid, host: Deno.hostname(), created, nonce: "other" });
  try {
    const dead = new Deno.Command("true").spawn();
    await dead.status;
    await Deno.writeTextFile(lock, info(dead.pid, Date.now()));
    assert.equal(await withLock(lock, () => Promise.resolve("ran")), "ran");

    await Deno.writeTextFile(lock, info(Deno.pid, Date.now() - 3_600_000));
    assert.equal(await withLock(lock, () => Promise.resolve("ran"), { staleMs: 60_000 }), "ran");

    await Deno.writeTextFile(lock, info(Deno.pid, Date.now()));
    await assert.rejects(
      () => withLock(lock, () => Promise.resolve("ran"), { timeoutMs: 50 }),
      (e: Error) =>
        e instanceof UserError && /timed out waiting for lock .*held by process/.test(e.message),
    );
    assert.equal(
      JSON.parse(await Deno.readTextFile(lock)).nonce,
      "other",
      "a live lock is left alone",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockDir is under ~/.awsvault", () => {
  assert.equal(lockDir(testRuntime({ home: "/home/u" })), "/home/u/.awsvault/locks");
});

Deno.test("session locks of very long profile names are usable, distinct file names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lock-names-" });
  try {
    const lockOf = (profileName: string) =>
      sessionLockName({ type: "sts.GetSessionToken", profileName, mfaSerial: "arn:mfa/x" });
    const names = [lockOf("p".repeat(300)), lockOf(`${"p".repeat(299)}q`)];
    assert.notEqual(names[0], names[1]);
    for (const name of names) {
      assert.equal(await withLock(`${dir}/${name}.lock`, () => Promise.resolve("held")), "held");
    }
    assert.equal(lockOf("admin"), "session.sts.GetSessionToken.YWRtaW4.YXJuOm1mYS94");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
