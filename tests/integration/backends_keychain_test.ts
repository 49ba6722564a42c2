/**
 * The keychain backend against a recording stand-in for macOS `security` (tests/support/
 * fake_security.py, which follows Apple's SecurityTool source): the shared conformance suite,
 * the exact commands sent, secrets only on stdin, a missing keychain, and failures.
 */
import assert from "node:assert/strict";
import { keyringConformance } from "../support/keyring_conformance.ts";
import {
  FAKE_SECURITY_PYTHON,
  type FakeSecurity,
  installFakeSecurity,
} from "../support/fake_security.ts";
import { ignoreWithout } from "../support/peers.ts";
import {
  openKeychainKeyring,
  parsePassword,
  SECURITY_MAX_LINE,
  setCommandLine,
} from "../../backends/keychain.ts";
import { type Keyring, KeyringError, newItem } from "../../backends/keyring.ts";

const enc = new TextEncoder();

function openWith(fake: FakeSecurity, keychain = "aws-vault"): Keyring {
  return openKeychainKeyring({ keychain, home: fake.dir, securityPath: fake.path });
}

const noPython = await ignoreWithout(FAKE_SECURITY_PYTHON);

/** Runs fn with a fresh stand-in. */
async function withFake(fn: (fake: FakeSecurity) => Promise<void>): Promise<void> {
  const fake = await installFakeSecurity();
  try {
    await fn(fake);
  } finally {
    await fake.cleanup();
  }
}

/** The largest printable value that fits the conformance suite's "big" item on one line. */
const MAX_VALUE_FOR_BIG = SECURITY_MAX_LINE -
  setCommandLine(newItem({ key: "big", data: new Uint8Array() }), "aws-vault.keychain").length;

keyringConformance("keychain", async () => {
  const fake = await installFakeSecurity();
  return { keyring: openWith(fake), cleanup: () => fake.cleanup() };
}, { keepsLabels: true, maxValueBytes: MAX_VALUE_FOR_BIG, ignore: noPython });

Deno.test(
  "keychain: the exact commands of set, get, keys and remove",
  { ignore: noPython },
  () =>
    withFake(async (fake) => {
      const k = openWith(fake);
      const data = '{"AccessKeyID":"AKIAEXAMPLE","SecretAccessKey":"wJalr/K7MDENG+bPxRfiCY"}';
      await k.set(newItem({
        key: "work",
        data: enc.encode(data),
        label: "aws-vault (work)",
        description: "aws-vault credentials",
        keychainNotTrustApplication: true,
      }));
      const item = await k.get("work");
      assert.deepEqual(await k.keys(), ["work"]);
      assert.equal(await k.remove("work"), true);

      assert.equal(new TextDecoder().decode(item!.data), data);
      assert.deepEqual(await fake.calls(), [
        { argv: ["show-keychain-info", "aws-vault.keychain"], lines: [] },
        { argv: ["create-keychain", "aws-vault.keychain"], lines: [] },
        {
          argv: ["-i"],
          lines: [
            '"add-generic-password" "-U" "-s" "aws-vault" "-a" "work" "-l" "aws-vault (work)" ' +
            '"-D" "aws-vault credentials" "-T" "" ' +
            '"-w" "{\\"AccessKeyID\\":\\"AKIAEXAMPLE\\",\\"SecretAccessKey\\":' +
            '\\"wJalr/K7MDENG+bPxRfiCY\\"}" "aws-vault.keychain"',
          ],
        },
        {
          argv: [
            "find-generic-password",
            "-s",
            "aws-vault",
            "-a",
            "work",
            "-g",
            "aws-vault.keychain",
          ],
          lines: [],
        },
        { argv: ["dump-keychain", "aws-vault.keychain"], lines: [] },
        {
          argv: ["delete-generic-password", "-s", "aws-vault", "-a", "work", "aws-vault.keychain"],
          lines: [],
        },
      ]);
    }),
);

Deno.test("keychain: stored as aws-vault stores it (service, account, label, kind, raw data)", {
  ignore: noPython,
}, () =>
  withFake(async (fake) => {
    const k = openWith(fake, "team");
    await k.set(newItem({
      key: "prod",
      data: enc.encode('{"AccessKeyID":"AKIA1"}'),
      label: "aws-vault (prod)",
      description: "aws-vault credentials",
      keychainNotTrustApplication: true,
    }));
    await k.set(newItem({
      key: "sts.GetSessionToken,cHJvZA,,1700000000",
      data: enc.encode('{"SessionToken":"tok"}'),
      label: "aws-vault session for prod",
      description: "aws-vault session",
    }));
    assert.equal(await fake.items("aws-vault.keychain"), undefined, "only the named keychain");
    const items = await fake.items("team.keychain");
    assert.deepEqual(items?.map((i) => [i.service, i.account, i.label, i.kind, i.trusted]), [
      ["aws-vault", "prod", "aws-vault (prod)", "aws-vault credentials", []],
      [
        "aws-vault",
        "sts.GetSessionToken,cHJvZA,,1700000000",
        "aws-vault session for prod",
        "aws-vault session",
        "default",
      ],
    ]);
    const hex = (s: string) => Array.from(enc.encode(s), (b) => b.toString(16).padStart(2, "0"));
    assert.equal(items![0].password, hex('{"AccessKeyID":"AKIA1"}').join(""));
  }));

Deno.test(
  "keychain: secrets travel on stdin only, never in any argv",
  { ignore: noPython },
  () =>
    withFake(async (fake) => {
      const k = openWith(fake);
      const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
      const binary = new Uint8Array([0, 1, 2, 0xfe, 0xff, ...enc.encode("bin-secret-xyz")]);
      await k.set(newItem({ key: "a", data: enc.encode(`{"SecretAccessKey":"${secret}"}`) }));
      await k.set(newItem({ key: "b", data: binary, keychainNotTrustApplication: true }));
      await k.set(newItem({ key: "a", data: enc.encode(`{"SecretAccessKey":"${secret}2"}`) }));
      assert.equal(
        new TextDecoder().decode((await k.get("a"))!.data),
        `{"SecretAccessKey":"${secret}2"}`,
      );
      assert.deepEqual((await k.get("b"))!.data, binary);
      await k.keys();
      await k.remove("a");
      await k.remove("b");

      const calls = await fake.calls();
      const binaryHex = Array.from(binary, (b) => b.toString(16).padStart(2, "0")).join("");
      const argvText = calls.map((c) => c.argv.join("\n")).join("\n").toLowerCase();
      for (const needle of [secret, "bin-secret-xyz", binaryHex]) {
        assert(!argvText.includes(needle.toLowerCase()), `${needle} must not be in argv`);
      }
      const stdinText = calls.flatMap((c) => c.lines).join("\n");
      assert(stdinText.includes(secret), "the text value went on stdin (-w)");
      assert(stdinText.includes(`"-X" "${binaryHex}"`), "the binary value went on stdin as hex");
      assert.equal(calls.filter((c) => c.lines.length > 0).length, 3, "one -i run per write");
    }),
);

Deno.test("keychain: a missing keychain is an empty store, and reads never create it", {
  ignore: noPython,
}, () =>
  withFake(async (fake) => {
    const k = openWith(fake);
    assert.deepEqual(await k.keys(), []);
    assert.equal(await k.get("work"), undefined);
    assert.equal(await k.getMetadata("work"), undefined);
    assert.equal(await k.remove("work"), false);
    assert.equal(await fake.items(), undefined);
    assert(
      (await fake.calls()).every((c) => c.argv[0] !== "create-keychain"),
      "no keychain is created by a read",
    );
  }));

Deno.test(
  "keychain: keys lists only aws-vault's generic passwords",
  { ignore: noPython },
  () =>
    withFake(async (fake) => {
      const k = openWith(fake);
      await k.set(newItem({ key: "work", data: enc.encode("{}") }));
      assert.equal(
        await fake.run([
          "add-generic-password",
          "-s",
          "someone-else",
          "-a",
          "other",
          "-w",
          "x",
          "aws-vault.keychain",
        ]),
        0,
      );
      assert.deepEqual(await k.keys(), ["work"]);
      assert.equal(await k.get("other"), undefined);
    }),
);

Deno.test(
  "keychain: a security failure is one clear line without the secret",
  { ignore: noPython },
  () =>
    withFake(async (fake) => {
      const k = openWith(fake);
      await k.set(newItem({ key: "work", data: enc.encode('{"SecretAccessKey":"first"}') }));
      await fake.failNext(
        "add-generic-password",
        -25308,
        "security: SecKeychainItemCreateFromContent (aws-vault.keychain): " +
          "User interaction is not allowed.",
      );
      const err = await k.set(
        newItem({ key: "work", data: enc.encode('{"SecretAccessKey":"NEWSECRET"}') }),
      )
        .then(() => undefined, (e) => e);
      assert(err instanceof KeyringError, `a KeyringError, got ${err}`);
      assert.equal(
        err.message,
        "cannot store 'work' in the keychain: security: SecKeychainItemCreateFromContent " +
          "(aws-vault.keychain): User interaction is not allowed. add-generic-password: returned -25308",
      );
      assert(!err.message.includes("NEWSECRET"));

      await fake.failNext(
        "find-generic-password",
        -25308,
        "security: SecKeychainItemCopyContent: User interaction is not allowed.",
      );
      await assert.rejects(
        () => k.get("work"),
        (e: Error) =>
          e instanceof KeyringError && !e.message.includes("\n") &&
          /cannot read 'work' from the keychain: .*User interaction is not allowed\./.test(
            e.message,
          ),
      );
    }),
);

Deno.test("keychain: a value too large for one security -i line is refused before any write", {
  ignore: noPython,
}, () =>
  withFake(async (fake) => {
    const k = openWith(fake);
    const secret = "S".repeat(SECURITY_MAX_LINE);
    const err = await k.set(newItem({ key: "oidc:https://x/start", data: enc.encode(secret) }))
      .then(() => undefined, (e) => e);
    assert(err instanceof KeyringError);
    assert.match(err.message, /item 'oidc:https:\/\/x\/start' is too large for the keychain/);
    assert(!err.message.includes("SSSS"));
    assert.deepEqual(await fake.calls(), [], "security never ran");
    // Binary data goes as hex, so it fits at half that size.
    const binary = new Uint8Array(MAX_VALUE_FOR_BIG).fill(0xff);
    await assert.rejects(() => k.set(newItem({ key: "big", data: binary })), KeyringError);
    const half = binary.subarray(0, Math.floor(MAX_VALUE_FOR_BIG / 2) - 4);
    await k.set(newItem({ key: "big", data: half }));
    assert.deepEqual((await k.get("big"))!.data, half);
  }));

Deno.test("keychain: keys, labels and descriptions with line breaks are refused", {
  ignore: noPython,
}, () =>
  withFake(async (fake) => {
    const k = openWith(fake);
    for (
      const fields of [{ key: "a\nb" }, { key: "a", label: "x\ny" }, {
        key: "a",
        description: "\0",
      }]
    ) {
      await assert.rejects(
        () => k.set(newItem({ data: enc.encode("{}"), ...fields })),
        KeyringError,
      );
    }
    await assert.rejects(() => k.get("a\nb"), KeyringError);
    assert.deepEqual(await fake.calls(), []);
  }));

Deno.test("keychain: parsePassword reads every form security prints", () => {
  assert.deepEqual(parsePassword('password: "{"a":1}"\n'), enc.encode('{"a":1}'));
  assert.deepEqual(
    parsePassword('password: 0x00FF41  "\\000\\377A"\n'),
    new Uint8Array([0, 255, 65]),
  );
  assert.deepEqual(parsePassword("password: 0x00FF \n"), new Uint8Array([0, 255]));
  assert.deepEqual(parsePassword("password: \n"), new Uint8Array());
  assert.throws(() => parsePassword("security: nothing\n"), KeyringError);
});
