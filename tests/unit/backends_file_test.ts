/** The file backend: aws-vault's on-disk format, passphrase handling, bad files (interop with other JWE libraries: tests/integration/backends_file_interop_test.ts). */
import assert from "node:assert/strict";
import { CompactEncrypt } from "jose";
import {
  decodeFileName,
  encodeFileName,
  goTimeString,
  openFileKeyring,
} from "../../backends/file.ts";
import { KeyringError, newItem } from "../../backends/keyring.ts";
import { TEMP_PREFIX } from "../../lib/fs/atomic.ts";
import { UserError } from "../../lib/errors.ts";
import type { GlobalOptions } from "../../lib/cli/global.ts";
import { keyringIn, PASS, segment, withDir } from "../support/file_vault.ts";
import { testRuntime } from "../support/runtime.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// The shared keyring conformance suite runs against this backend in
// backends_file_conformance_test.ts.

Deno.test("file names escape only % and / and decode back", () => {
  assert.equal(
    encodeFileName("oidc:https://x.awsapps.com/start"),
    "oidc:https:%2F%2Fx.awsapps.com%2Fstart",
  );
  assert.equal(encodeFileName("50%off"), "50%25off");
  assert.equal(encodeFileName("a b,c:d"), "a b,c:d");
  for (const key of ["oidc:https://x/start", "50%off", "%2F", "日本/x"]) {
    assert.equal(decodeFileName(encodeFileName(key)), key);
  }
  assert.throws(() => encodeFileName(".."), KeyringError);
  assert.throws(() => encodeFileName(""), KeyringError);
});

Deno.test("created header is Go's time.String() in UTC", () => {
  assert.equal(
    goTimeString(new Date("2024-01-02T03:04:05.120Z")),
    "2024-01-02 03:04:05.12 +0000 UTC",
  );
  assert.equal(goTimeString(new Date("2024-01-02T03:04:05Z")), "2024-01-02 03:04:05 +0000 UTC");
});

Deno.test("items are written in aws-vault's exact format, 0600 in a 0700 directory", async () => {
  await withDir(async (dir) => {
    const { keyring } = keyringIn(dir);
    await keyring.set(
      newItem({ key: "team/a&b", data: enc.encode('{"x":1}'), label: "aws-vault (team/a&b)" }),
    );
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    const path = `${dir}/team%2Fa&b`;
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const jwe = await Deno.readTextFile(path);
    assert.equal(jwe.split(".").length, 5);
    assert.match(jwe, /^[A-Za-z0-9_.-]+$/, "compact form, base64url without padding");
    const header = dec.decode(segment(jwe, 0));
    assert.match(
      header,
      /^\{"alg":"PBES2-HS256\+A128KW","created":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC","enc":"A256GCM","p2c":8192,"p2s":"[A-Za-z0-9_-]{16}"\}$/,
    );
    assert.equal(segment(jwe, 1).length, 40, "AES-KW of a 32-byte key");
    assert.equal(segment(jwe, 2).length, 12, "GCM IV");
    assert.equal(segment(jwe, 4).length, 16, "GCM tag");
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir), (e) => e.name), ["team%2Fa&b"]);
  });
});

Deno.test("a new vault asks for the passphrase twice; a mismatch stores nothing", async () => {
  await withDir(async (dir) => {
    const bad = keyringIn(dir, null, ["one", "two"]);
    await assert.rejects(
      () => bad.keyring.set(newItem({ key: "p", data: enc.encode("v") })),
      (e: Error) => e instanceof UserError && /passphrases do not match/.test(e.message),
    );
    assert.deepEqual(await bad.keyring.keys(), []);
    const good = keyringIn(dir, null, ["pw", "pw"]);
    await good.keyring.set(newItem({ key: "p", data: enc.encode("v") }));
    await good.keyring.set(newItem({ key: "q", data: enc.encode("w") }));
    assert.deepEqual(good.prompts, [
      `Enter passphrase to unlock "${dir}": [hidden]`,
      "Enter passphrase again to confirm: [hidden]",
    ]);
  });
});

Deno.test("the passphrase is asked once per process and only when a file must be decrypted", async () => {
  await withDir(async (dir) => {
    await keyringIn(dir).keyring.set(newItem({ key: "p", data: enc.encode("v") }));
    const { keyring, prompts } = keyringIn(dir, null, [PASS]);
    assert.deepEqual(await keyring.keys(), ["p"]);
    assert.equal(await keyring.get("missing"), undefined);
    assert.equal(await keyring.remove("missing"), false);
    assert.equal(prompts.length, 0);
    assert.equal(dec.decode((await keyring.get("p"))!.data), "v");
    await keyring.set(newItem({ key: "q", data: enc.encode("w") }));
    assert.equal(dec.decode((await keyring.get("q"))!.data), "w");
    assert.deepEqual(prompts, [`Enter passphrase to unlock "${dir}": [hidden]`]);
  });
});

Deno.test("a wrong passphrase is one clear error and modifies nothing", async () => {
  await withDir(async (dir) => {
    await keyringIn(dir).keyring.set(newItem({ key: "p", data: enc.encode("v") }));
    const before = await Deno.readTextFile(`${dir}/p`);
    const wrong = keyringIn(dir, "typo").keyring;
    const isWrong = (e: Error) =>
      e instanceof UserError && e.message === `wrong passphrase for vault ${dir}`;
    await assert.rejects(() => wrong.get("p"), isWrong);
    await assert.rejects(() => wrong.set(newItem({ key: "p", data: enc.encode("x") })), isWrong);
    await assert.rejects(() => wrong.set(newItem({ key: "new", data: enc.encode("x") })), isWrong);
    assert.deepEqual(await wrong.keys(), ["p"]);
    assert.equal(await Deno.readTextFile(`${dir}/p`), before);
  });
});

Deno.test("corrupt, truncated and foreign files: clear errors, other items still usable", async () => {
  await withDir(async (dir) => {
    const { keyring } = keyringIn(dir);
    await keyring.set(newItem({ key: "good", data: enc.encode("v") }));
    await keyring.set(newItem({ key: "trunc", data: enc.encode("v") }));
    const full = await Deno.readTextFile(`${dir}/trunc`);
    await Deno.writeTextFile(`${dir}/trunc`, full.slice(0, full.length - 30));
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello\n");
    const fresh = keyringIn(dir).keyring;
    await assert.rejects(
      () => fresh.get("notes.txt"),
      (e: Error) =>
        e instanceof KeyringError && e.message.includes(`${dir}/notes.txt`) &&
        /not an aws-vault item/.test(e.message),
    );
    await assert.rejects(
      () => fresh.get("trunc"),
      (e: Error) => e.message.includes(`${dir}/trunc`),
    );
    assert.equal(dec.decode((await fresh.get("good"))!.data), "v");
    await fresh.set(newItem({ key: "other", data: enc.encode("w") }));
    assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "hello\n", "foreign file untouched");
    // A vault whose only file is foreign still proves nothing: with a prompt it asks twice.
    await Deno.remove(`${dir}/good`);
    await Deno.remove(`${dir}/other`);
    await Deno.remove(`${dir}/trunc`);
    const asked = keyringIn(dir, null, ["pw", "pw"]);
    await asked.keyring.set(newItem({ key: "x", data: enc.encode("y") }));
    assert.equal(asked.prompts.length, 2);
  });
});

Deno.test("the header's p2c is honoured, and absurd values are refused before deriving", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(dir, { recursive: true });
    const payload = enc.encode(
      JSON.stringify({ Key: "k", Data: btoa("low"), Label: "", Description: "" }),
    );
    const low = await new CompactEncrypt(payload)
      .setProtectedHeader({ alg: "PBES2-HS256+A128KW", enc: "A256GCM" })
      .setKeyManagementParameters({ p2c: 1000, p2s: new Uint8Array(12) })
      .encrypt(enc.encode(PASS));
    await Deno.writeTextFile(`${dir}/low`, low);
    const { keyring } = keyringIn(dir);
    assert.equal(dec.decode((await keyring.get("low"))!.data), "low");
    const header = btoa(
      JSON.stringify({
        alg: "PBES2-HS256+A128KW",
        enc: "A256GCM",
        p2c: 500_000_000,
        p2s: "AAAAAAAAAAAAAAAA",
      }),
    )
      .replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
    await Deno.writeTextFile(`${dir}/huge`, [header, ...low.split(".").slice(1)].join("."));
    await assert.rejects(
      () => keyring.get("huge"),
      (e: Error) =>
        e instanceof KeyringError && /p2c 500000000 exceeds the limit of 1300000/.test(e.message),
    );
  });
});

Deno.test("a vault path that is a file is a clear error", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(dir, "x");
    const { keyring } = keyringIn(dir);
    await assert.rejects(
      () => keyring.keys(),
      (e: Error) => e.message === `vault directory ${dir} is not a directory`,
    );
    await assert.rejects(
      () => keyring.set(newItem({ key: "p", data: enc.encode("v") })),
      KeyringError,
    );
  });
});

const AS_ROOT = Deno.uid() === 0;
if (AS_ROOT) console.log("SKIP: running as root, which reads any directory");

Deno.test("an empty passphrase typed at the prompt is asked once, like any other (99designs#828)", async () => {
  await withDir(async (dir) => {
    await keyringIn(dir, "").keyring.set(newItem({ key: "p", data: enc.encode("v") }));
    await keyringIn(dir, "").keyring.set(newItem({ key: "q", data: enc.encode("w") }));
    const { keyring, prompts } = keyringIn(dir, null, [""]);
    assert.equal(dec.decode((await keyring.get("p"))!.data), "v");
    assert.equal(dec.decode((await keyring.get("q"))!.data), "w");
    await keyring.set(newItem({ key: "r", data: enc.encode("x") }));
    assert.deepEqual(prompts, [`Enter passphrase to unlock "${dir}": [hidden]`]);
  });
});

Deno.test("an unreadable vault directory is a clear error", { ignore: AS_ROOT }, async () => {
  await withDir(async (dir) => {
    await keyringIn(dir).keyring.set(newItem({ key: "p", data: enc.encode("v") }));
    await Deno.chmod(dir, 0o000);
    try {
      await assert.rejects(() => keyringIn(dir).keyring.keys(), /permission denied/);
    } finally {
      await Deno.chmod(dir, 0o700);
    }
  });
});

Deno.test("openFileKeyring expands ~/ and reads AWS_VAULT_FILE_PASSPHRASE", async () => {
  const home = await Deno.makeTempDir({ prefix: "file-home-" });
  try {
    const runtime = testRuntime({ home, env: { AWS_VAULT_FILE_PASSPHRASE: "" } });
    const options = { fileDir: "~/.awsvault/keys/" } as GlobalOptions;
    const keyring = await openFileKeyring(options, runtime);
    await keyring.set(newItem({ key: "p", data: enc.encode("v") }));
    assert.equal(dec.decode((await keyring.get("p"))!.data), "v");
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${home}/.awsvault/keys`), (e) => e.name), [
      "p",
    ]);
    assert.deepEqual(runtime.prompts, [], "an empty passphrase from the environment is used as is");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("temp files of writes killed long ago are removed by a later write; fresh ones stay", async () => {
  await withDir(async (dir) => {
    const { keyring } = keyringIn(dir);
    await keyring.set(newItem({ key: "a", data: enc.encode("1") }));
    const stale = `${dir}/${TEMP_PREFIX}0123456789abcdef`;
    const fresh = `${dir}/${TEMP_PREFIX}fedcba9876543210`;
    await Deno.writeTextFile(stale, "half-written", { mode: 0o600 });
    await Deno.writeTextFile(fresh, "being written", { mode: 0o600 });
    const hourAgo = new Date(Date.now() - 3_600_000);
    await Deno.utime(stale, hourAgo, hourAgo);
    assert.deepEqual(await keyring.keys(), ["a"], "temp files are never keys");
    await keyring.set(newItem({ key: "b", data: enc.encode("2") }));
    const names = (await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort();
    assert.deepEqual(names, [`${TEMP_PREFIX}fedcba9876543210`, "a", "b"].sort());
  });
});

Deno.test("temp files of the previous release (.aws-vault-tmp-<hex>) are not keys and are removed once stale", async () => {
  await withDir(async (dir) => {
    const { keyring } = keyringIn(dir);
    await keyring.set(newItem({ key: "a", data: enc.encode("1") }));
    // What writeFileAtomic named its temp files before they moved under the `%` prefix: a full
    // item JWE (a copy of "a" here), left behind by a write that was killed.
    const stale = `${dir}/.aws-vault-tmp-0123456789abcdef`;
    const fresh = `${dir}/.aws-vault-tmp-fedcba9876543210`;
    await Deno.copyFile(`${dir}/a`, stale);
    await Deno.copyFile(`${dir}/a`, fresh);
    const hourAgo = new Date(Date.now() - 3_600_000);
    await Deno.utime(stale, hourAgo, hourAgo);
    assert.deepEqual(await keyring.keys(), ["a"], "temp files are never keys");
    await keyring.set(newItem({ key: "b", data: enc.encode("2") }));
    const names = (await Array.fromAsync(Deno.readDir(dir), (e) => e.name)).sort();
    assert.deepEqual(names, [".aws-vault-tmp-fedcba9876543210", "a", "b"]);
    // A profile merely named like one is still an item (only the exact temp shape is reserved).
    await keyring.set(newItem({ key: ".aws-vault-tmp-prod", data: enc.encode("3") }));
    assert.deepEqual((await keyring.keys()).sort(), [".aws-vault-tmp-prod", "a", "b"]);
    await assert.rejects(
      keyring.set(newItem({ key: ".aws-vault-tmp-00112233445566aa", data: enc.encode("4") })),
      KeyringError,
    );
  });
});
