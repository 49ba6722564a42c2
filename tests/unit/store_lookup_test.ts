/**
 * Cache hits that do not grow with the vault: a session lookup lists the keyring once (expired
 * and legacy items are removed from that same listing), stored keys are looked up by name where
 * the backend can (the file backend: one lstat), and the answers are those of a full listing.
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { type Item, type Keyring, newItem } from "../../backends/keyring.ts";
import { TEMP_PREFIX } from "../../lib/fs/atomic.ts";
import { UserError } from "../../lib/errors.ts";
import {
  CredentialStore,
  formatSessionKey,
  sessionKeyExpiry,
  SessionStore,
} from "../../lib/store/mod.ts";
import { CountingKeyring } from "../support/counting_keyring.ts";

const NOW = new Date("2026-01-02T03:04:05Z");
const HOUR = 3_600_000;

async function withVault(fn: (k: FileKeyring, dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "lookup-" });
  const terminal = { readLine: () => Promise.reject(new UserError("no terminal")) };
  try {
    await fn(new FileKeyring(`${root}/keys`, { passphrase: "pw", terminal }), `${root}/keys`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const SESSION = {
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: "secret",
  sessionToken: "token",
  expiration: new Date(NOW.getTime() + 8 * HOUR),
};

Deno.test("a cache hit lists the vault once; stored keys are one lookup", async () => {
  await withVault(async (file, dir) => {
    const key = { type: "sts.GetSessionToken", profileName: "p", mfaSerial: "" };
    await new CredentialStore(file).set("p", { accessKeyId: "AKIA", secretAccessKey: "s" });
    await new SessionStore(file, () => NOW).set(key, SESSION);
    // Filler: 300 other sessions (same ciphertext, other names), an expired one, a legacy one.
    const sample = await Deno.readTextFile(
      `${dir}/${formatSessionKey({ ...key, expiration: SESSION.expiration })}`,
    );
    for (let i = 0; i < 300; i++) {
      const other = { ...key, profileName: `acct${i}` };
      await Deno.writeTextFile(
        `${dir}/${formatSessionKey({ ...other, expiration: SESSION.expiration })}`,
        sample,
      );
    }
    const expired = formatSessionKey({ ...key, expiration: new Date(NOW.getTime() - HOUR) });
    await Deno.writeTextFile(`${dir}/${expired}`, sample);
    await Deno.writeTextFile(`${dir}/session:p::1`, sample);

    const counting = new CountingKeyring(file, { has: true });
    assert.equal(await new CredentialStore(counting).has("p"), true);
    assert.equal(await new CredentialStore(counting).has("nobody"), false);
    assert.equal(counting.listings, 0);
    assert.equal(counting.lookups, 2);
    const hit = await new SessionStore(counting, () => NOW).get(key);
    assert.equal(hit?.accessKeyId, "ASIAEXAMPLE");
    assert.equal(counting.listings, 1);
    // The expired and the legacy item went with that one listing.
    const left = await file.keys();
    assert.ok(!left.includes(expired) && !left.includes("session:p::1"));
    assert.equal(left.length, 302);
  });
});

Deno.test("without a direct lookup, has() lists; set() lists once", async () => {
  await withVault(async (file) => {
    const counting = new CountingKeyring(file, { has: false });
    await new CredentialStore(file).set("p", { accessKeyId: "AKIA", secretAccessKey: "s" });
    assert.equal(await new CredentialStore(counting).has("p"), true);
    assert.equal(counting.listings, 1);
    const key = { type: "sts.AssumeRole", profileName: "p", mfaSerial: "m" };
    await new SessionStore(counting, () => NOW).set(key, SESSION);
    assert.equal(counting.listings, 2);
  });
});

Deno.test("an expired session that cannot be removed is never handed out", async () => {
  const key = { type: "sts.GetSessionToken", profileName: "p", mfaSerial: "" };
  const stale = formatSessionKey({ ...key, expiration: new Date(NOW.getTime() - HOUR) });
  const fresh = formatSessionKey({ ...key, expiration: SESSION.expiration });
  const items = new Map<string, Item>([
    [stale, newItem({ key: stale, data: new Uint8Array(), description: "aws-vault session" })],
    [fresh, newItem({ key: fresh, data: new Uint8Array(), description: "aws-vault session" })],
  ]);
  let removals = 0;
  const keyring: Keyring = {
    name: "memory",
    get: (k) => Promise.resolve(k === stale ? items.get(k) : undefined),
    getMetadata: () => Promise.resolve(undefined),
    set: () => Promise.resolve(),
    // Another process removed it first.
    remove: () => Promise.resolve(removals++ < 0),
    keys: () => Promise.resolve([stale, fresh]),
  };
  const store = new SessionStore(keyring, () => NOW);
  assert.equal(await store.get(key), undefined);
  assert.equal(removals, 1);
  assert.equal(await store.removeOld(), 0);
});

Deno.test("file backend has() agrees with keys() for hostile names and odd entries", async () => {
  await withVault(async (file, dir) => {
    const names = ["p", "a/b", "50%off", "日本", "with space", "x,y", "-n", ".hidden", "%2F"];
    for (const key of names) {
      await file.set(newItem({ key, data: new TextEncoder().encode("x") }));
    }
    await Deno.mkdir(`${dir}/a-directory`);
    await Deno.symlink(`${dir}/p`, `${dir}/a-link`);
    await Deno.writeTextFile(`${dir}/${TEMP_PREFIX}p`, "partial");
    const listed = new Set(await file.keys());
    const asked = [
      ...names,
      "a-directory",
      "a-link",
      `${TEMP_PREFIX}p`,
      "missing",
      "",
      ".",
      "..",
      "a\0b",
      "a/../p",
    ];
    for (const key of asked) {
      assert.equal(await file.has(key), listed.has(key), JSON.stringify(key));
    }
  });
});

Deno.test("file backend has() on a missing vault is false; on a file it is the keys() error", async () => {
  await withVault(async (file, dir) => {
    assert.equal(await file.has("p"), false);
    await Deno.mkdir(dir.replace(/\/keys$/, ""), { recursive: true });
    await Deno.writeTextFile(dir, "not a directory");
    const listing = await file.keys().then(() => undefined, (e: Error) => e.message);
    const lookup = await file.has("p").then(() => undefined, (e: Error) => e.message);
    assert.ok(listing !== undefined);
    assert.equal(lookup, listing);
  });
});

Deno.test("sessionKeyExpiry reads only the digits of a session-shaped key", () => {
  const key = { type: "sts.AssumeRole", profileName: "p", mfaSerial: "m" };
  assert.equal(sessionKeyExpiry(formatSessionKey({ ...key, expiration: NOW })), NOW.getTime());
  for (const other of ["p", "oidc:https://x/start", "a,b", "x,y,z,12a", "session:p::1"]) {
    assert.equal(sessionKeyExpiry(other), Infinity, other);
  }
});
