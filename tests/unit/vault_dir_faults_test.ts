/**
 * A vault directory others can write to, or that another user owns, is refused with the fix in
 * the message (issue 14 item 15): anyone who can write there can swap items or plant files.
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { KeyringError, newItem } from "../../backends/keyring.ts";
import { UserError } from "../../lib/errors.ts";

const noTerminal = { readLine: () => Promise.reject(new UserError("no terminal in this test")) };

Deno.test("item 15: a group- or world-writable vault directory is refused, with the chmod to run", async () => {
  if (Deno.build.os === "windows") return;
  const root = await Deno.makeTempDir({ prefix: "vault-dir-faults-" });
  try {
    const dir = `${root}/keys`;
    await new FileKeyring(dir, { passphrase: "pw", terminal: noTerminal })
      .set(newItem({ key: "work", data: new Uint8Array([1]) }));
    for (const mode of [0o777, 0o770, 0o702, 0o1777]) {
      await Deno.chmod(dir, mode);
      const keyring = new FileKeyring(dir, { passphrase: "pw", terminal: noTerminal });
      for (const op of [() => keyring.keys(), () => keyring.get("work")]) {
        await assert.rejects(
          op,
          (e: Error) =>
            e instanceof KeyringError && e.message.includes(`chmod 700 ${dir}`) &&
            /writable by/.test(e.message),
        );
      }
    }
    await Deno.chmod(dir, 0o700);
    const keyring = new FileKeyring(dir, { passphrase: "pw", terminal: noTerminal });
    assert.deepEqual(await keyring.keys(), ["work"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("item 15: a vault directory owned by another user is refused", async () => {
  if (Deno.build.os === "windows" || Deno.uid() !== 0) return; // chown needs root
  const root = await Deno.makeTempDir({ prefix: "vault-dir-faults-" });
  try {
    const dir = `${root}/keys`;
    await Deno.mkdir(dir, { mode: 0o700 });
    await Deno.chown(dir, 65534, 65534);
    const keyring = new FileKeyring(dir, { passphrase: "pw", terminal: noTerminal });
    await assert.rejects(
      () => keyring.keys(),
      (e: Error) =>
        e instanceof KeyringError && /owned by uid 65534/.test(e.message) &&
        e.message.includes(`chown`),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
