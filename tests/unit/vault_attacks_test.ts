/**
 * The vault under attack (issue 14): generated hostile profile names (shell and control
 * characters, unicode, path parts, very long, shaped like internal files or session keys) are
 * either refused with a KeyringError or stored, found, used for sessions and removed without
 * touching any other item; parallel writers killed with SIGKILL never lose or corrupt an item.
 * Replay a failure with HOSTILE_SEED=<seed printed in the message>.
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { KeyringError } from "../../backends/keyring.ts";
import { UserError } from "../../lib/errors.ts";
import { CredentialStore, SessionStore } from "../../lib/store/mod.ts";
import { hostileStrings, runSeed, seededRandom } from "../support/hostile.ts";

const PASS = "attack passphrase";
const noTerminal = { readLine: () => Promise.reject(new UserError("no terminal in this test")) };
const WORKER = new URL("../support/fault_worker.ts", import.meta.url).pathname;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "vault-attacks-" });
  try {
    await fn(`${root}/keys`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("attacks: generated hostile names never lose, shadow or delete another item", async () => {
  const seed = runSeed();
  const names = hostileStrings(seededRandom(seed), 80);
  await withDir(async (dir) => {
    const keyring = new FileKeyring(dir, { passphrase: PASS, terminal: noTerminal });
    const creds = new CredentialStore(keyring);
    const sessions = new SessionStore(keyring, () => new Date());
    await creds.set("bystander", { accessKeyId: "AKIABYSTANDER", secretAccessKey: "keep" });
    const stored: string[] = [];
    for (const name of names) {
      try {
        await creds.set(name, { accessKeyId: "AKIAHOSTILE", secretAccessKey: name });
        stored.push(name);
      } catch (err) {
        assert.ok(err instanceof KeyringError, `seed ${seed}, ${JSON.stringify(name)}: ${err}`);
        assert.doesNotMatch((err as Error).message, /\n/);
      }
    }
    assert.ok(stored.length > names.length / 2, `seed ${seed}: most names should be storable`);
    // Every stored name is listed once, and reads back its own item.
    const keys = await keyring.keys();
    for (const name of [...stored, "bystander"]) {
      assert.equal(
        keys.filter((k) => k === name).length,
        1,
        `seed ${seed}: ${JSON.stringify(name)}`,
      );
      const got = await creds.get(name);
      assert.equal(got?.secretAccessKey, name === "bystander" ? "keep" : name, `seed ${seed}`);
    }
    assert.equal(keys.length, stored.length + 1, `seed ${seed}: no extra keys`);
    // Sessions of the hostile names come and go without touching credentials.
    for (const name of stored.slice(0, 20)) {
      const key = { type: "sts.AssumeRole", profileName: name, mfaSerial: name };
      try {
        await sessions.set(key, {
          accessKeyId: "ASIA",
          secretAccessKey: "s",
          sessionToken: "t",
          expiration: new Date(Date.now() + 3600_000),
        });
      } catch (err) {
        assert.ok(err instanceof KeyringError, `seed ${seed}: ${err}`);
        continue;
      }
      assert.equal((await sessions.get(key))?.accessKeyId, "ASIA");
      assert.equal(
        await sessions.removeForProfile(name),
        1,
        `seed ${seed}: ${JSON.stringify(name)}`,
      );
    }
    assert.equal(await sessions.removeAll(), 0, `seed ${seed}: credentials are never sessions`);
    // Removing each hostile name removes exactly it.
    for (const name of stored) assert.equal(await creds.remove(name), true, `seed ${seed}`);
    assert.deepEqual(await keyring.keys(), ["bystander"], `seed ${seed}`);
    for (const e of await Array.fromAsync(Deno.readDir(dir))) {
      assert.ok(new TextEncoder().encode(e.name).length <= 255, e.name);
    }
  });
});

Deno.test("attacks: parallel writers with hostile names killed by SIGKILL never lose or corrupt an item", async () => {
  const seed = runSeed();
  const rand = seededRandom(seed);
  const names = hostileStrings(rand, 12).filter((n) => !/[\0\n\r]/.test(n)).slice(0, 12);
  await withDir(async (dir) => {
    // The vault exists before the storm: its first item fixed the passphrase.
    const first = new FileKeyring(dir, { passphrase: PASS, terminal: noTerminal });
    await new CredentialStore(first).set("bystander", {
      accessKeyId: "AKIAB",
      secretAccessKey: "b",
    });
    for (let round = 0; round < 3; round++) {
      const workers = [0, 1, 2].map((i) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--quiet",
            "--no-check",
            WORKER,
            "storm",
            dir,
            PASS,
            JSON.stringify(names.slice(i * 4, i * 4 + 4)),
          ],
          stdout: "piped",
          stderr: "null",
        }).spawn()
      );
      // Let each finish a round, then kill it at a random moment of a later one.
      await Promise.all(workers.map(async (w) => {
        const reader = w.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        while (!text.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
        }
        await new Promise((r) => setTimeout(r, rand() * 150));
        w.kill("SIGKILL");
        await reader.cancel().catch(() => {});
        await w.status;
      }));
      const keyring = new FileKeyring(dir, { passphrase: PASS, terminal: noTerminal });
      const creds = new CredentialStore(keyring);
      const keys = await keyring.keys();
      for (const key of keys) {
        assert.ok(await keyring.get(key), `seed ${seed}: ${JSON.stringify(key)} must decrypt`);
      }
      for (const name of [...names, "bystander"]) {
        const got = await creds.get(name);
        assert.ok(got, `seed ${seed}: ${JSON.stringify(name)} was lost in round ${round}`);
      }
    }
  });
});
