/** addProfileSection: appends without rewriting the user's file; atomic; safe modes. */
import assert from "node:assert/strict";
import { addProfileSection, parseConfig } from "../../lib/config/mod.ts";
import { UserError } from "../../lib/errors.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("addProfileSection appends the section and keeps every existing byte", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/config`;
    const original =
      "# my comments\n[default]\nregion = eu-west-1 # Ireland\n\n[profile x]\ns3 =\n  a = 1";
    await Deno.writeTextFile(path, original);
    assert.equal(
      await addProfileSection(path, "work", { mfa_serial: "arn:aws:iam::1:mfa/me" }),
      true,
    );
    const text = await Deno.readTextFile(path);
    assert.equal(text, `${original}\n\n[profile work]\nmfa_serial=arn:aws:iam::1:mfa/me\n`);
    assert.deepEqual(parseConfig(text, path).profileSection("work"), {
      mfa_serial: "arn:aws:iam::1:mfa/me",
    });
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config"]);
  });
});

Deno.test("addProfileSection returns false and writes nothing when the section exists", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, "[profile work]\nregion = x\n");
    const before = await Deno.stat(path);
    assert.equal(await addProfileSection(path, "work", { mfa_serial: "M" }), false);
    assert.equal(await Deno.readTextFile(path), "[profile work]\nregion = x\n");
    assert.equal((await Deno.stat(path)).ino, before.ino);
  });
});

Deno.test("addProfileSection creates a missing directory 0700 and file 0600", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/.aws/config`;
    assert.equal(await addProfileSection(path, "default"), true);
    assert.equal(await Deno.readTextFile(path), "[default]\n");
    assert.equal((await Deno.stat(`${dir}/.aws`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("addProfileSection keeps an existing file's mode and a symlinked config", async () => {
  await withDir(async (dir) => {
    const real = `${dir}/dotfiles-config`;
    const link = `${dir}/config`;
    await Deno.writeTextFile(real, "[default]\r\nregion = x\r\n");
    await Deno.chmod(real, 0o640);
    await Deno.symlink(real, link);
    assert.equal(await addProfileSection(link, "a"), true);
    assert.equal((await Deno.lstat(link)).isSymlink, true);
    assert.equal(await Deno.readTextFile(real), "[default]\r\nregion = x\r\n\r\n[profile a]\r\n");
    assert.equal((await Deno.stat(real)).mode! & 0o777, 0o640);
  });
});

Deno.test("addProfileSection refuses names and values that would break the file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/config`;
    for (
      const [name, keys] of [
        ["a]b", {}],
        ["", {}],
        [" a", {}],
        ["a\n[default]", {}],
        ["a", { region: "x\nrole_arn = evil" }],
        ["a", { "k=v": "x" }],
      ] as Array<[string, Record<string, string>]>
    ) {
      await assert.rejects(addProfileSection(path, name, keys), UserError);
    }
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  });
});

Deno.test("addProfileSection refuses values that would not read back as written", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, "[default]\nregion = x\n");
    for (const value of ['"""arn:aws:iam::1:mfa/me', "`arn", "arn #1", '"arn"', "arn \\"]) {
      await assert.rejects(
        () => addProfileSection(path, "work", { mfa_serial: value }),
        (err: unknown) => err instanceof UserError && /would not read back/.test(err.message),
        value,
      );
    }
    assert.equal(await Deno.readTextFile(path), "[default]\nregion = x\n");
    assert.equal(await addProfileSection(path, "work", { mfa_serial: "arn:x#1" }), true);
  });
});
