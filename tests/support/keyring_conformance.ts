/**
 * One behaviour every Keyring backend must have, run against each real backend: set/get/remove/
 * keys, odd key names, large values, missing items, overwrite and concurrent writers.
 */
import assert from "node:assert/strict";
import { type Keyring, KeyringError, newItem } from "../../backends/keyring.ts";

/** A keyring opened for one test, and how to dispose of it. */
export interface KeyringFixture {
  keyring: Keyring;
  /** Removes everything the fixture created (daemons, temp dirs, kernel keys). */
  cleanup(): Promise<void>;
}

/** What a backend stores beyond the raw data. */
export interface ConformanceOptions {
  /** Whether label and description survive a round trip (not for stores that keep only the data (wincred, keyctl)). */
  keepsLabels?: boolean;
  /** Largest value the backend can hold; larger values must fail with a KeyringError. */
  maxValueBytes?: number;
  /** Deno.test's `ignore` (a peer is missing: see tests/support/peers.ts). */
  ignore?: boolean;
}

/** Key names aws-vault really uses, plus the awkward characters users put in profile names. */
export const ODD_KEYS = [
  "oidc:https://x.awsapps.com/start",
  "sts.GetSessionToken,am9u,YXJu,1700000000",
  "my profile with spaces",
  "prôfil-ünïcode-日本",
  "team/prod",
  "50%off",
];

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Registers the conformance tests; each opens its own fixture. */
export function keyringConformance(
  backend: string,
  open: () => Promise<KeyringFixture>,
  options: ConformanceOptions = {},
): void {
  const test = (name: string, fn: (k: Keyring) => Promise<void>) => {
    Deno.test({
      name: `${backend} keyring: ${name}`,
      ignore: options.ignore ?? false,
      fn: async () => {
        const fixture = await open();
        try {
          await fn(fixture.keyring);
        } finally {
          await fixture.cleanup();
        }
      },
    });
  };

  test("has() (a direct lookup, where the backend has one) agrees with keys()", async (k) => {
    if (!k.has) return;
    for (const key of ODD_KEYS) await k.set(newItem({ key, data: enc.encode("{}") }));
    const listed = await k.keys();
    for (const key of [...ODD_KEYS, "missing", "sts.GetSessionToken,am9u,YXJu,1", "-x", "work"]) {
      assert.equal(await k.has(key), listed.includes(key), key);
    }
    await k.remove(ODD_KEYS[0]);
    assert.equal(await k.has(ODD_KEYS[0]), false);
  });

  test("set, get, keys and remove", async (k) => {
    assert.deepEqual(await k.keys(), []);
    const data = enc.encode('{"AccessKeyID":"AKIAEXAMPLE","SecretAccessKey":"s3cr3t"}');
    await k.set(newItem({
      key: "work",
      data,
      label: "aws-vault (work)",
      description: "aws-vault session",
      keychainNotTrustApplication: true,
    }));
    const item = await k.get("work");
    assert(item, "item must be found after set");
    assert.deepEqual(item.key, "work");
    assert.deepEqual(dec.decode(item.data), dec.decode(data));
    if (options.keepsLabels) {
      assert.deepEqual(item.label, "aws-vault (work)");
      assert.deepEqual(item.description, "aws-vault session");
    }
    assert.deepEqual(await k.keys(), ["work"]);
    assert(await k.getMetadata("work"), "metadata of an existing item");
    assert.deepEqual(await k.remove("work"), true);
    assert.deepEqual(await k.get("work"), undefined);
    assert.deepEqual(await k.keys(), []);
  });

  test("missing items", async (k) => {
    assert.deepEqual(await k.get("nobody"), undefined);
    assert.deepEqual(await k.getMetadata("nobody"), undefined);
    assert.deepEqual(await k.remove("nobody"), false);
  });

  test("odd key names round-trip and list verbatim", async (k) => {
    for (const key of ODD_KEYS) {
      await k.set(newItem({ key, data: enc.encode(`value of ${key}`) }));
    }
    assert.deepEqual((await k.keys()).sort(), [...ODD_KEYS].sort());
    for (const key of ODD_KEYS) {
      const item = await k.get(key);
      assert(item, `item ${key} must be found`);
      assert.deepEqual(dec.decode(item.data), `value of ${key}`);
    }
    // A prefix of a stored key is a different, missing key.
    assert.deepEqual(await k.get("oidc:https:"), undefined);
    for (const key of ODD_KEYS) assert.deepEqual(await k.remove(key), true);
    assert.deepEqual(await k.keys(), []);
  });

  test("overwrite replaces the value", async (k) => {
    await k.set(newItem({ key: "p", data: enc.encode("one") }));
    await k.set(newItem({ key: "p", data: enc.encode("two") }));
    assert.deepEqual(dec.decode((await k.get("p"))!.data), "two");
    assert.deepEqual(await k.keys(), ["p"]);
  });

  test("large values", async (k) => {
    const size = 64 * 1024;
    const big = new Uint8Array(size);
    for (let i = 0; i < size; i++) big[i] = 0x41 + (i * 7) % 26;
    if (options.maxValueBytes !== undefined && size > options.maxValueBytes) {
      await assert.rejects(() => k.set(newItem({ key: "big", data: big })), KeyringError);
      assert.deepEqual(await k.get("big"), undefined, "a refused write leaves nothing behind");
      const fits = big.subarray(0, options.maxValueBytes);
      await k.set(newItem({ key: "big", data: fits }));
      assert.deepEqual((await k.get("big"))!.data, fits);
      return;
    }
    await k.set(newItem({ key: "big", data: big }));
    assert.deepEqual((await k.get("big"))!.data, big);
  });

  test("binary data survives", async (k) => {
    const data = new Uint8Array(256);
    for (let i = 0; i < 256; i++) data[i] = i;
    await k.set(newItem({ key: "bin", data }));
    assert.deepEqual((await k.get("bin"))!.data, data);
  });

  test("concurrent writers of different keys all land", async (k) => {
    const keys = Array.from({ length: 8 }, (_, i) => `parallel-${i}`);
    await Promise.all(keys.map((key) => k.set(newItem({ key, data: enc.encode(key) }))));
    assert.deepEqual((await k.keys()).sort(), [...keys].sort());
    for (const key of keys) assert.deepEqual(dec.decode((await k.get(key))!.data), key);
  });
}
