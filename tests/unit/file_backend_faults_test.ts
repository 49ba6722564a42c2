/**
 * Faults of the file backend and the session store (issue 14): item names that look like internal
 * files or sessions, wrong passphrases, corrupt files, long names. Every test here failed on the
 * code before the fix it names.
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { KeyringError, newItem } from "../../backends/keyring.ts";
import { UserError } from "../../lib/errors.ts";
import { CredentialStore, formatSessionKey, SessionStore } from "../../lib/store/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const PASS = "correct horse";
const NOW = new Date("2026-01-02T03:04:05Z");
const noTerminal = { readLine: () => Promise.reject(new UserError("no terminal in this test")) };

function keyringIn(dir: string, passphrase = PASS): FileKeyring {
  return new FileKeyring(dir, { passphrase, terminal: noTerminal });
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "file-faults-" });
  try {
    await fn(`${root}/keys`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const creds = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "secret" };
const session = (expiresInS: number) => ({
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: "s",
  sessionToken: "t",
  expiration: new Date(NOW.getTime() + expiresInS * 1000),
});

// Item 1: internal names.
Deno.test("item 1: a profile named like a temp file is listed, read, and survives later writes", async () => {
  await withDir(async (dir) => {
    const keyring = keyringIn(dir);
    const store = new CredentialStore(keyring);
    const name = ".aws-vault-tmp-prod";
    await store.set(name, creds);
    const old = new Date(Date.now() - 3600_000);
    for await (const e of Deno.readDir(dir)) await Deno.utime(`${dir}/${e.name}`, old, old);
    await store.set("other", creds); // a write removes stale temp files
    assert.deepEqual(await store.names(), [name, "other"]);
    assert.deepEqual(await store.get(name), creds);
  });
});

Deno.test("item 1: a credential whose name parses as a session key is never removed as a session", async () => {
  await withDir(async (dir) => {
    const keyring = keyringIn(dir);
    // aws-vault itself stores such a name (its add does not refuse it); only the item's
    // description tells a session from a credential.
    const expiredShape = "team,Zm9v,,1";
    await new CredentialStore(keyring).set(expiredShape, creds);
    await keyring.set(newItem({ key: "session,YQ,,1", data: enc.encode("{}"), label: "x" }));
    const sessions = new SessionStore(keyring, () => NOW);
    await sessions.set(
      { type: "sts.GetSessionToken", profileName: "p", mfaSerial: "" },
      session(60),
    );
    await sessions.removeAll();
    await sessions.removeForProfile("foo");
    const keys = (await keyring.keys()).sort();
    assert.deepEqual(keys, ["session,YQ,,1", expiredShape]);
    assert.deepEqual(await new CredentialStore(keyring).get(expiredShape), creds);
  });
});

Deno.test("item 1: a session written by us is still cleaned up when it expires", async () => {
  await withDir(async (dir) => {
    const keyring = keyringIn(dir);
    const sessions = new SessionStore(keyring, () => NOW);
    const key = { type: "sts.GetSessionToken", profileName: "p", mfaSerial: "" };
    await sessions.set(key, session(-10));
    assert.equal((await keyring.keys()).length, 1);
    assert.equal(await sessions.get(key), undefined);
    assert.deepEqual(await keyring.keys(), []);
  });
});

Deno.test("item 1: files whose names are not aws-vault's escaping are not items", async () => {
  await withDir(async (dir) => {
    const keyring = keyringIn(dir);
    await keyring.set(newItem({ key: "a/b", data: enc.encode("v") }));
    // A hand-made lower-case escape decodes to the same key but is another file.
    await Deno.copyFile(`${dir}/a%2Fb`, `${dir}/a%2fb`);
    await Deno.writeTextFile(`${dir}/%zz`, "junk");
    assert.deepEqual(await keyring.keys(), ["a/b"]);
  });
});

// Item 5: a wrong passphrase changes nothing.
Deno.test("item 5: remove with a wrong passphrase deletes nothing", async () => {
  await withDir(async (dir) => {
    await keyringIn(dir).set(newItem({ key: "p", data: enc.encode("v") }));
    const key = { type: "sts.GetSessionToken", profileName: "p", mfaSerial: "" };
    await new SessionStore(keyringIn(dir), () => NOW).set(key, session(60));
    const wrong = keyringIn(dir, "typo");
    await assert.rejects(() => wrong.remove("p"), /wrong passphrase/);
    await assert.rejects(
      () => new SessionStore(wrong, () => NOW).removeAll(),
      /wrong passphrase/,
    );
    assert.equal((await keyringIn(dir).keys()).length, 2);
  });
});

Deno.test("item 5: expired-session cleanup with a wrong passphrase deletes nothing", async () => {
  await withDir(async (dir) => {
    const key = { type: "sts.GetSessionToken", profileName: "p", mfaSerial: "" };
    await new SessionStore(keyringIn(dir), () => NOW).set(key, session(-10));
    const wrong = keyringIn(dir, "typo");
    await assert.rejects(() => new SessionStore(wrong, () => NOW).removeOld(), /wrong passphrase/);
    assert.equal((await keyringIn(dir).keys()).length, 1);
  });
});

// Item 7: a file that cannot be decrypted is never overwritten or deleted.
Deno.test("item 7: a corrupt cached session is kept, skipped, and a new one is stored beside it", async () => {
  await withDir(async (dir) => {
    const keyring = keyringIn(dir);
    await keyring.set(newItem({ key: "other", data: enc.encode("v") })); // proves the passphrase
    const key = { type: "sts.GetSessionToken", profileName: "p", mfaSerial: "" };
    const corruptKey = formatSessionKey({ ...key, expiration: new Date(NOW.getTime() + 7200e3) });
    await Deno.writeTextFile(`${dir}/${corruptKey}`, "not a jwe");
    const notices: string[] = [];
    const sessions = new SessionStore(keyring, () => NOW, { notice: (t) => notices.push(t) });
    assert.equal(await sessions.get(key), undefined);
    await sessions.set(key, session(3600));
    assert.equal(await Deno.readTextFile(`${dir}/${corruptKey}`), "not a jwe");
    assert.equal((await sessions.get(key))?.accessKeyId, "ASIAEXAMPLE");
    await sessions.removeAll();
    assert.equal(await Deno.readTextFile(`${dir}/${corruptKey}`), "not a jwe");
    assert.equal(notices.length, 1, notices.join("\n"));
    assert.match(notices[0], /cannot be decrypted.*kept/);
  });
});

Deno.test("item 7: set never overwrites an item file that does not decrypt", async () => {
  await withDir(async (dir) => {
    const keyring = keyringIn(dir);
    await keyring.set(newItem({ key: "other", data: enc.encode("v") }));
    await Deno.writeTextFile(`${dir}/p`, "garbage");
    await assert.rejects(
      () => new CredentialStore(keyring).set("p", creds),
      (e: Error) => e instanceof KeyringError && /cannot be decrypted/.test(e.message),
    );
    await assert.rejects(() => keyring.remove("p"), KeyringError);
    assert.equal(await Deno.readTextFile(`${dir}/p`), "garbage");
    assert.equal(dec.decode((await keyring.get("other"))!.data), "v");
  });
});

const WORKER = new URL("../support/fault_worker.ts", import.meta.url).pathname;

async function runWorker(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--no-check", WORKER, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return dec.decode(out.stdout).trim();
}

Deno.test("item 5: two first writes to a new vault with different passphrases never split it", async () => {
  for (let trial = 0; trial < 5; trial++) {
    await withDir(async (dir) => {
      const results = await Promise.all([
        runWorker(["set", dir, "alpha", "a"]),
        runWorker(["set", dir, "beta", "b"]),
      ]);
      const ok = results.filter((r) => r === "ok");
      assert.equal(ok.length, 1, results.join(" | "));
      assert.match(results.find((r) => r !== "ok")!, /wrong passphrase/);
      const winner = results[0] === "ok" ? "alpha" : "beta";
      const keyring = keyringIn(dir, winner);
      const keys = await keyring.keys();
      assert.equal(keys.length, 1);
      assert.ok(await keyring.get(keys[0]));
    });
  }
});

// Item 6: names too long for a file name.
Deno.test("item 6: keys whose file name would pass NAME_MAX are stored, listed, read and removed", async () => {
  await withDir(async (dir) => {
    const keyring = keyringIn(dir);
    const long = "p".repeat(250) + "é".repeat(20); // 290 bytes
    const store = new CredentialStore(keyring);
    await store.set(long, creds);
    await store.set("short", creds);
    const sessions = new SessionStore(keyring, () => NOW);
    const key = { type: "sts.AssumeRole", profileName: long, mfaSerial: "arn:aws:iam::1:mfa/x" };
    await sessions.set(key, session(3600));
    assert.equal((await sessions.get(key))?.accessKeyId, "ASIAEXAMPLE");
    const names = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
    for (const name of names) assert.ok(new TextEncoder().encode(name).length <= 255, name);
    assert.deepEqual(await store.names(), [long, "short"].sort());
    assert.deepEqual(await store.get(long), creds);
    assert.equal(await sessions.removeForProfile(long), 1);
    assert.equal(await store.remove(long), true);
    assert.deepEqual(await keyring.keys(), ["short"]);
  });
});

Deno.test("item 6: a long-name file renamed to another long name is not taken for that key", async () => {
  await withDir(async (dir) => {
    const keyring = keyringIn(dir);
    const a = "a".repeat(300);
    await new CredentialStore(keyring).set(a, creds);
    const [file] = await Array.fromAsync(Deno.readDir(dir), (e) => e.name);
    await Deno.rename(`${dir}/${file}`, `${dir}/${file.slice(0, -4)}0000`);
    assert.deepEqual(await keyring.keys(), []);
  });
});

Deno.test("found by the attack suite: a name starting with a BOM keeps it (file names and session keys)", async () => {
  await withDir(async (dir) => {
    const keyring = keyringIn(dir);
    const name = "\ufeff%x";
    await new CredentialStore(keyring).set(name, creds);
    assert.deepEqual(await keyring.keys(), [name]);
    const sessions = new SessionStore(keyring, () => NOW);
    await sessions.set(
      { type: "sts.GetSessionToken", profileName: name, mfaSerial: "" },
      session(60),
    );
    assert.equal(await sessions.removeForProfile(name), 1);
  });
});
