/** The keyctl backend against the real kernel keyring (a uniquely named ring, removed after). */
import assert from "node:assert/strict";
import { keyringConformance } from "../support/keyring_conformance.ts";
import { ignoreWithout } from "../support/peers.ts";
import { KEYCTL } from "../support/keyctl_session.ts";
import { KEYCTL_MAX_PAYLOAD, openKeyctlKeyring } from "../../backends/keyctl.ts";
import { KeyringError, newItem } from "../../backends/keyring.ts";

const noKeyctl = await ignoreWithout(KEYCTL);

/** Unlinks every ring of this name from the user keyring. */
async function dropRing(name: string): Promise<void> {
  for (;;) {
    const out = await new Deno.Command("keyctl", {
      args: ["search", "@u", "keyring", name],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return;
    const id = new TextDecoder().decode(out.stdout).trim();
    await new Deno.Command("keyctl", { args: ["unlink", id, "@u"], stderr: "null" }).output();
  }
}

keyringConformance("keyctl", () => {
  const ringName = `aws-vault-test-${crypto.randomUUID()}`;
  return Promise.resolve({
    keyring: openKeyctlKeyring({ scope: "user", ringName }),
    cleanup: () => dropRing(ringName),
  });
}, { maxValueBytes: KEYCTL_MAX_PAYLOAD, ignore: noKeyctl });

Deno.test("keyctl: items live in a named keyring inside the scope, payload = data", {
  ignore: noKeyctl,
}, async () => {
  const ringName = `aws-vault-test-${crypto.randomUUID()}`;
  try {
    const k = openKeyctlKeyring({ scope: "user", ringName });
    await k.set(newItem({ key: "work", data: new TextEncoder().encode('{"a":1}') }));
    const run = async (...args: string[]) =>
      new TextDecoder().decode(
        (await new Deno.Command("keyctl", { args, stdout: "piped" }).output()).stdout,
      ).trim();
    const ring = await run("search", "@u", "keyring", ringName);
    const id = await run("search", ring, "user", "work");
    assert.equal(await run("pipe", id), '{"a":1}');
  } finally {
    await dropRing(ringName);
  }
});

Deno.test(
  "keyctl: an unknown scope and odd keys are clear errors",
  { ignore: noKeyctl },
  async () => {
    assert.throws(() => openKeyctlKeyring({ scope: "" }), /unknown keyctl scope ''/);
    const ringName = `aws-vault-test-${crypto.randomUUID()}`;
    try {
      const k = openKeyctlKeyring({ scope: "user", ringName });
      await assert.rejects(
        () => k.set(newItem({ key: "-x", data: new Uint8Array(1) })),
        KeyringError,
      );
      assert.deepEqual(await k.keys(), []);
    } finally {
      await dropRing(ringName);
    }
  },
);

Deno.test(
  "keyctl: a key over the kernel's 4095-byte description limit is refused before any work",
  { ignore: noKeyctl },
  async () => {
    const ringName = `aws-vault-test-${crypto.randomUUID()}`;
    try {
      const k = openKeyctlKeyring({ scope: "user", ringName });
      // A session key of a ~3000-character profile: base64 makes it longer than the kernel takes.
      const long = `sts.GetSessionToken,${"cA".repeat(2040)},,9999999999`;
      assert.ok(k.checkKey, "checkKey lets a session be refused before STS and the MFA code");
      assert.throws(() => k.checkKey!(long), KeyringError, "too long");
      await assert.rejects(
        () => k.set(newItem({ key: long, data: new Uint8Array(1) })),
        KeyringError,
        "too long",
      );
      const longest = "é".repeat(2047) + "x"; // 4095 bytes of UTF-8
      k.checkKey!(longest);
      await k.set(newItem({ key: longest, data: new TextEncoder().encode("v") }));
      assert.deepEqual(await k.keys(), [longest]);
    } finally {
      await dropRing(ringName);
    }
  },
);

Deno.test(
  "keyctl: a scope's ring is the one linked in that scope keyring, not one it reaches through @u",
  { ignore: noKeyctl },
  async () => {
    const ringName = `aws-vault-test-${crypto.randomUUID()}`;
    const keyctl = async (...args: string[]) =>
      new TextDecoder().decode(
        (await new Deno.Command("keyctl", { args, stdout: "piped", stderr: "null" }).output())
          .stdout,
      ).trim();
    try {
      // The user-session keyring links the user keyring (as pam_keyinit's session keyring does).
      await openKeyctlKeyring({ scope: "user", ringName })
        .set(newItem({ key: "user-scoped", data: new Uint8Array(1) }));
      const k = openKeyctlKeyring({ scope: "usersession", ringName });
      assert.deepEqual(await k.keys(), []);
      assert.equal(await k.get("user-scoped"), undefined);
      await k.set(newItem({ key: "session-scoped", data: new Uint8Array(1) }));
      const direct = (await keyctl("rlist", "@us")).split(/\s+/);
      const ring = await keyctl("search", "@us", "keyring", ringName);
      assert.ok(direct.includes(ring), "the ring is linked in @us itself");
      assert.deepEqual(await k.keys(), ["session-scoped"]);
      assert.deepEqual(await openKeyctlKeyring({ scope: "user", ringName }).keys(), [
        "user-scoped",
      ]);
    } finally {
      await dropRing(ringName);
      for (;;) {
        const id = await keyctl("search", "@us", "keyring", ringName);
        if (id === "") break;
        await keyctl("unlink", id, "@us");
      }
    }
  },
);
