/**
 * The session index (lib/store/session_index.ts): a cache hit in a file vault reads one bucket
 * of a names-only index instead of listing the vault, and whatever happens to the index or the
 * vault behind its back (aws-vault writing directly, in the same second too; a corrupt, torn or
 * hostile index; an item it names being gone; parallel writers), the answer is the one a
 * listing gives, or an older session of the very same key, and no other item is ever read.
 */
import assert from "node:assert/strict";
import { encodeFileName, encryptItem, FileKeyring } from "../../backends/file.ts";
import { type Keyring, newItem } from "../../backends/keyring.ts";
import type { Credentials } from "../../lib/credentials.ts";
import { UserError } from "../../lib/errors.ts";
import { TEMP_PREFIX } from "../../lib/fs/atomic.ts";
import {
  encodeSessionData,
  formatSessionKey,
  sessionKeyPrefix,
  SessionStore,
} from "../../lib/store/mod.ts";
import { sessionIndexPath, writeSessionIndex } from "../../lib/store/session_index.ts";
import { CachedSessionProvider } from "../../lib/vault/cached_session.ts";
import { CountingKeyring } from "../support/counting_keyring.ts";
import { processLocker } from "../../lib/vault/session_cache.ts";

const PASS = "pw";
const HOUR = 3_600_000;
const KEY = { type: "sts.AssumeRole", profileName: "p", mfaSerial: "arn:aws:iam::1:mfa/p" };
const terminal = { readLine: () => Promise.reject(new UserError("no terminal")) };

/** Records what a store asks of a file keyring (snapshots on, as the file backend has them). */
function recording(inner: FileKeyring): CountingKeyring {
  return new CountingKeyring(inner, { snapshots: true });
}

interface Fixture {
  root: string;
  dir: string;
  indexDir: string;
  /** A vault on the real clock, or on one `aheadMs` ahead (the vault then counts as quiet). */
  keyring(aheadMs?: number): FileKeyring;
  store(keyring: Keyring, aheadMs?: number): SessionStore;
  indexPath(): Promise<string>;
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "session-index-" });
  const dir = `${root}/keys`;
  const indexDir = `${root}/locks`;
  const f: Fixture = {
    root,
    dir,
    indexDir,
    keyring: (aheadMs = 0) =>
      new FileKeyring(dir, { passphrase: PASS, terminal, now: () => clock(aheadMs) }),
    store: (keyring, aheadMs = 0) => new SessionStore(keyring, () => clock(aheadMs), { indexDir }),
    indexPath: () => sessionIndexPath(indexDir, `file:${dir}`),
  };
  try {
    await fn(f);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function clock(aheadMs: number): Date {
  return new Date(Date.now() + aheadMs);
}

function session(id: string, expiresInMs = 8 * HOUR): Credentials {
  return {
    accessKeyId: id,
    secretAccessKey: `secret-of-${id}`,
    sessionToken: `token-of-${id}`,
    expiration: new Date(Math.floor((Date.now() + expiresInMs) / 1000) * 1000),
  };
}

/** Writes a session file as aws-vault does: straight into the directory, no index, no lock. */
async function awsVaultWrites(
  dir: string,
  key: typeof KEY,
  creds: Credentials,
): Promise<string> {
  const name = formatSessionKey({ ...key, expiration: creds.expiration! });
  const jwe = await encryptItem(
    newItem({
      key: name,
      data: new TextEncoder().encode(encodeSessionData(creds)),
      label: `aws-vault session for ${key.profileName}`,
      description: "aws-vault session",
    }),
    PASS,
    new Date(),
  );
  await Deno.writeTextFile(`${dir}/${encodeFileName(name)}`, jwe, { mode: 0o600 });
  return name;
}

/** Waits (without asserting anything about time) until the vault counts as left alone. */
async function untilQuiet(keyring: FileKeyring): Promise<void> {
  for (let i = 0; i < 100 && !(await keyring.keysSnapshot()); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(await keyring.keysSnapshot(), "the vault never became quiet");
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/**
 * A vault with our session, sessions of 200 other profiles and a credential; returns the names
 * of our session and of profile acct7's.
 */
async function populate(f: Fixture): Promise<{ ours: string; acct7: string }> {
  const file = f.keyring();
  const creds = session("ASIAOURS");
  await new SessionStore(file, () => new Date()).set(KEY, creds);
  await file.set(newItem({ key: "p", data: new TextEncoder().encode("{}") }));
  let acct7 = "";
  for (let i = 0; i < 200; i++) {
    const name = await awsVaultWrites(
      f.dir,
      { ...KEY, profileName: `acct${i}` },
      session(`ASIA${i}`),
    );
    if (i === 7) acct7 = name;
  }
  return { ours: formatSessionKey({ ...KEY, expiration: creds.expiration! }), acct7 };
}

Deno.test("a cache hit reads the index instead of listing; the index is names only, 0600", async () => {
  await withFixture(async (f) => {
    await populate(f);
    const counting = recording(f.keyring(3_000));
    assert.equal((await f.store(counting, 3_000).get(KEY))?.accessKeyId, "ASIAOURS");
    assert.equal(counting.listings, 1, "the first lookup lists and writes the index");
    const path = await f.indexPath();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(f.indexDir)).mode! & 0o777, 0o700);
    const text = await Deno.readTextFile(path);
    assert.ok(!/secret|token|ASIA|"p"/.test(text), "no secret, no credential name in the index");
    assert.equal(text.trim().split("\n").length, 1 + 201);

    for (let i = 0; i < 3; i++) {
      assert.equal((await f.store(counting, 3_000).get(KEY))?.accessKeyId, "ASIAOURS");
    }
    assert.equal(counting.listings, 1, "hits from the index list nothing");
    const prefix = sessionKeyPrefix(KEY);
    assert.ok(counting.reads.every((k) => k.startsWith(prefix)), "only our session was read");
    // A lookup of a key without a session falls back to a listing (a miss is never trusted).
    assert.equal(await f.store(counting, 3_000).get({ ...KEY, profileName: "none" }), undefined);
    assert.equal(counting.listings, 2);
    // The second look under the lock always lists.
    await f.store(counting, 3_000).get(KEY, { recheck: true });
    assert.equal(counting.listings, 3);
  });
});

Deno.test("without an index directory, or with a vault just written, every lookup lists", async () => {
  await withFixture(async (f) => {
    await populate(f);
    const counting = recording(f.keyring());
    await new SessionStore(counting, () => new Date()).get(KEY);
    await new SessionStore(counting, () => new Date()).get(KEY);
    assert.equal(counting.listings, 2);
    // Real clock: the vault changed within the last 2.5 s, so no index is written.
    await f.store(counting).get(KEY);
    assert.equal(await exists(await f.indexPath()), false);
  });
});

Deno.test("aws-vault writing a newer session behind the index's back: the newer one is found", async () => {
  await withFixture(async (f) => {
    const { ours: old } = await populate(f);
    const file = f.keyring();
    await untilQuiet(file);
    const counting = recording(file);
    assert.equal((await f.store(counting).get(KEY))?.accessKeyId, "ASIAOURS");
    assert.ok(await exists(await f.indexPath()), "index written for a quiet vault");
    const before = (await Deno.stat(f.dir)).mtime!;

    // aws-vault's Set: the new session first, then the old one removed.
    await awsVaultWrites(f.dir, KEY, session("ASIANEWER", 9 * HOUR));
    await Deno.remove(`${f.dir}/${encodeFileName(old)}`);
    // Even with the directory's mtime put back (a file system with coarse times, or a tool
    // that restores times), its ctime moved: the index no longer holds.
    await Deno.utime(f.dir, before, before);
    // (On a clock 3 s ahead, so that only the stamp can tell.)
    const ahead = recording(f.keyring(3_000));
    assert.equal((await f.store(ahead, 3_000).get(KEY))?.accessKeyId, "ASIANEWER");
    assert.equal(ahead.listings, 1);

    // aws-vault writing one more (both kept): the newest is handed out, not the index's.
    await untilQuiet(file);
    await Deno.remove(await f.indexPath()); // (the clock ahead wrote one: this one is honest)
    await f.store(counting).get(KEY); // index rewritten for the quiet vault
    assert.equal(counting.listings, 2);
    await awsVaultWrites(f.dir, KEY, session("ASIANEWEST", 10 * HOUR));
    await Deno.utime(f.dir, before, before);
    assert.equal((await f.store(ahead, 3_000).get(KEY))?.accessKeyId, "ASIANEWEST");
    assert.equal(ahead.listings, 2);
  });
});

Deno.test("a write in the same second as the listing never hides behind the index", async () => {
  await withFixture(async (f) => {
    await populate(f);
    const file = f.keyring();
    const counting = recording(file);
    // The vault was written just now: the lookup lists and writes no index.
    await f.store(counting).get(KEY);
    assert.equal(await exists(await f.indexPath()), false);
    // aws-vault writes a newer session in that same second and the directory keeps its mtime
    // (as on a file system with one-second times): the next lookup still sees it.
    const before = (await Deno.stat(f.dir)).mtime!;
    await awsVaultWrites(f.dir, KEY, session("ASIASAMESECOND", 9 * HOUR));
    await Deno.utime(f.dir, before, before);
    assert.equal((await f.store(counting).get(KEY))?.accessKeyId, "ASIASAMESECOND");
  });
});

Deno.test("a corrupt, torn, hostile or odd index file falls back to listing", async () => {
  await withFixture(async (f) => {
    const { ours, acct7: otherProfile } = await populate(f);
    const file = f.keyring(3_000);
    const path = await f.indexPath();
    const snapshot = (await file.keysSnapshot())!;
    const prefix = sessionKeyPrefix(KEY);
    const valid = async (keys: string[]) => {
      await Deno.remove(path).catch(() => {});
      assert.ok(
        await writeSessionIndex(path, snapshot, { keys, nextExpiry: Infinity }, new Date()),
      );
      return await Deno.readFile(path);
    };
    const good = await valid([ours, otherProfile]);
    const cases: [string, () => Promise<unknown>][] = [
      ["garbage", () => Deno.writeTextFile(path, "\u0000\xff garbage\n")],
      ["empty", () => Deno.writeTextFile(path, "")],
      ["torn (truncated)", () => Deno.writeFile(path, good.subarray(0, good.length - 20))],
      ["no line break in 16 KB", () => Deno.writeTextFile(path, "{".repeat(40_000))],
      ["header not an object", () => Deno.writeTextFile(path, '"x"\n')],
      [
        "offsets out of range",
        () =>
          Deno.writeTextFile(
            path,
            new TextDecoder().decode(good).replace(/"buckets":\[\d+/, '"buckets":[99999999'),
          ),
      ],
      ["another stamp", () =>
        Deno.writeTextFile(
          path,
          new TextDecoder().decode(good).replace(snapshot.stamp, "1:2:3:4:5"),
        )],
      ["a directory", async () => await Deno.mkdir(path)],
      ["a symlink to an index", async () => {
        await Deno.writeFile(`${path}.real`, good);
        await Deno.symlink(`${path}.real`, path);
      }],
      ["group-writable", async () => {
        await Deno.writeFile(path, good);
        await Deno.chmod(path, 0o620);
      }],
      ["a FIFO (must not block)", async () => {
        const out = await new Deno.Command("mkfifo", { args: [path] }).output();
        assert.ok(out.success);
      }],
      // Hostile names that a forged index might hold for our bucket: none is read.
      ["names of another profile and paths", async () => {
        await valid([
          otherProfile,
          `${prefix}../../etc/passwd`,
          `${prefix}1/../../x`,
          `${prefix}99999999999`,
          `${prefix.slice(0, -1)}x,1`,
        ]);
      }],
      ["a deleted item", () => valid([`${prefix}${Math.floor(Date.now() / 1000) + 99 * 3600}`])],
    ];
    for (const [what, plant] of cases) {
      await Deno.remove(path, { recursive: true }).catch(() => {});
      await Deno.remove(`${path}.real`).catch(() => {});
      await plant();
      const counting = recording(file);
      const hit = await f.store(counting, 3_000).get(KEY);
      assert.equal(hit?.accessKeyId, "ASIAOURS", what);
      assert.equal(counting.listings, 1, `${what}: listed`);
      const readable = counting.reads.filter((k) => k !== ours);
      assert.ok(
        readable.every((k) => k.startsWith(prefix) && /,[0-9]+$/.test(k)),
        `${what}: read ${readable}`,
      );
      assert.ok(!counting.reads.includes(otherProfile), `${what}: another profile's item read`);
    }
    // After any of them, a lookup that lists writes a good index again (not over a directory).
    await Deno.remove(path, { recursive: true }).catch(() => {});
    await f.store(recording(file), 3_000).get(KEY);
    const counting = recording(file);
    assert.equal((await f.store(counting, 3_000).get(KEY))?.accessKeyId, "ASIAOURS");
    assert.equal(counting.listings, 0);
  });
});

Deno.test("an index that names an unreadable or too-short session never costs an STS call", async () => {
  await withFixture(async (f) => {
    const { ours } = await populate(f);
    const file = f.keyring(3_000);
    const snapshot = (await file.keysSnapshot())!;
    const prefix = sessionKeyPrefix(KEY);
    // A forged index naming a session with 5 minutes left (a real item, not ours)...
    const short = session("ASIASHORT", 5 * 60_000);
    const shortName = await awsVaultWrites(f.dir, KEY, short);
    // ...written under the vault's snapshot as it is now (the write above went unnoticed).
    const now = (await f.keyring(3_000).keysSnapshot())!;
    assert.notEqual(now.stamp, snapshot.stamp);
    const path = await f.indexPath();
    await writeSessionIndex(path, now, { keys: [shortName], nextExpiry: Infinity }, new Date());
    const provider = new CachedSessionProvider({
      inner: { retrieve: () => Promise.reject(new Error("STS must not be called")) },
      cache: f.store(file, 3_000),
      key: KEY,
      minRemainingMs: 15 * 60_000,
      lock: processLocker(),
      now: () => new Date(),
    });
    // The hit from the index has too little life; under the lock the vault is listed and the
    // good session is found.
    assert.equal((await provider.retrieve()).accessKeyId, "ASIAOURS");
    assert.ok(ours.startsWith(prefix));
  });
});

Deno.test("expired sessions are still removed before a lookup served by the index", async () => {
  await withFixture(async (f) => {
    await populate(f);
    const soon = await awsVaultWrites(
      f.dir,
      { ...KEY, profileName: "brief" },
      session("B", 60_000),
    );
    const file = f.keyring(3_000);
    const counting = recording(file);
    await f.store(counting, 3_000).get(KEY);
    await f.store(counting, 3_000).get(KEY);
    assert.equal(counting.listings, 1);
    assert.ok(await exists(`${f.dir}/${soon}`));
    // Two minutes later that session expired: the index no longer holds, the lookup lists and
    // removes it, as aws-vault does before every lookup.
    const later = new FileKeyring(f.dir, {
      passphrase: PASS,
      terminal,
      now: () => clock(120_000),
    });
    const laterCounting = recording(later);
    assert.equal((await f.store(laterCounting, 120_000).get(KEY))?.accessKeyId, "ASIAOURS");
    assert.equal(laterCounting.listings, 1);
    assert.equal(await exists(`${f.dir}/${soon}`), false);
  });
});

Deno.test("a killed index write leaves the old index or none; its temp file is tidied", async () => {
  await withFixture(async (f) => {
    await populate(f);
    const file = f.keyring(3_000);
    await f.store(file, 3_000).get(KEY);
    const path = await f.indexPath();
    const whole = await Deno.readFile(path);
    // A writer killed after writing half its temp file, 20 minutes ago.
    const temp = `${f.indexDir}/${TEMP_PREFIX}0123456789abcdef`;
    await Deno.writeFile(temp, whole.subarray(0, whole.length >> 1), { mode: 0o600 });
    const old = new Date(Date.now() - 20 * 60_000);
    await Deno.utime(temp, old, old);
    const counting = recording(file);
    assert.equal((await f.store(counting, 3_000).get(KEY))?.accessKeyId, "ASIAOURS");
    assert.equal(counting.listings, 0, "the renamed-in index is whole");
    // The next index write tidies the stale temp file.
    await Deno.remove(path);
    await f.store(counting, 3_000).get(KEY);
    assert.equal(await exists(temp), false);
  });
});

Deno.test("parallel index writers leave one whole index", async () => {
  await withFixture(async (f) => {
    await populate(f);
    const file = f.keyring();
    await untilQuiet(file);
    const all = await Promise.all(
      Array.from({ length: 8 }, () => f.store(recording(f.keyring()), 0).get(KEY)),
    );
    assert.ok(all.every((c) => c?.accessKeyId === "ASIAOURS"));
    const entries = await Array.fromAsync(Deno.readDir(f.indexDir));
    assert.deepEqual(entries.map((e) => e.name), [(await f.indexPath()).split("/").pop()]);
    const counting = recording(file);
    assert.equal((await f.store(counting).get(KEY))?.accessKeyId, "ASIAOURS");
    assert.equal(counting.listings, 0);
  });
});

Deno.test("lookups while aws-vault replaces the session: only real sessions, then the newest", async () => {
  await withFixture(async (f) => {
    let { ours: previous } = await populate(f);
    const file = f.keyring();
    await untilQuiet(file);
    await f.store(file).get(KEY); // an index for the quiet vault
    const ids = new Set(["ASIAOURS"]);
    let writing = true;
    const writer = (async () => {
      // aws-vault's Set, over and over: the new session first, then the old one removed.
      for (let i = 0; i < 30; i++) {
        const id = `ASIAW${i}`;
        ids.add(id);
        const name = await awsVaultWrites(f.dir, KEY, session(id, 9 * HOUR + i * 1000));
        if (name !== previous) await Deno.remove(`${f.dir}/${encodeFileName(previous)}`);
        previous = name;
        await new Promise((r) => setTimeout(r, 5));
      }
      writing = false;
    })();
    const readers = Array.from({ length: 4 }, async () => {
      while (writing) {
        // A lookup racing a removal may miss (as aws-vault's does; the provider then looks
        // again under the lock), but never hands out anything that is not a real session.
        const hit = await f.store(recording(f.keyring())).get(KEY);
        assert.ok(hit === undefined || ids.has(hit.accessKeyId), `got ${hit?.accessKeyId}`);
      }
    });
    await Promise.all([writer, ...readers]);
    const counting = recording(file);
    assert.equal((await f.store(counting).get(KEY))?.accessKeyId, "ASIAW29");
    await untilQuiet(file);
    await f.store(counting).get(KEY);
    const listed = counting.listings;
    assert.equal((await f.store(counting).get(KEY))?.accessKeyId, "ASIAW29");
    assert.equal(counting.listings, listed, "served by the rewritten index");
  });
});
