/**
 * Faults of config edits (issue 14 items 2-4): devices and other non-regular files, bytes that
 * are not UTF-8, UTF-16 files, parallel writers. Each test failed before its fix.
 */
import assert from "node:assert/strict";
import { addProfileSection, parseConfig } from "../../lib/config/mod.ts";
import { loadConfig } from "../../lib/config/config_file.ts";
import { UserError } from "../../lib/errors.ts";
import { testRuntime } from "../support/runtime.ts";

const WORKER = new URL("../support/fault_worker.ts", import.meta.url).pathname;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "config-faults-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("item 2: a config that is a device is never replaced by a regular file", async () => {
  await withDir(async (dir) => {
    // A null device of our own (never the real /dev/null: the bug replaced it, as root). Without
    // the right to make device nodes, a FIFO is the non-regular file.
    const path = `${dir}/null`;
    const made = await new Deno.Command("mknod", { args: ["-m", "666", path, "c", "1", "3"] })
      .output().catch(() => undefined);
    if (!made?.success) {
      const fifo = await new Deno.Command("mkfifo", { args: [path] }).output();
      assert.ok(fifo.success);
    }
    const link = `${dir}/config`;
    await Deno.symlink(path, link); // AWS_CONFIG_FILE may name a link to it, too
    for (const target of [path, link]) {
      await assert.rejects(
        () => addProfileSection(target, "work"),
        (e: Error) => e instanceof UserError && /not a regular file/.test(e.message),
      );
    }
    assert.equal((await Deno.lstat(path)).isFile, false);
  });
});

Deno.test("item 2: a FIFO as config is refused at once, not read forever", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/fifo`;
    const mk = await new Deno.Command("mkfifo", { args: [path] }).output();
    assert.ok(mk.success);
    const rt = testRuntime({ env: { AWS_CONFIG_FILE: path } });
    await assert.rejects(() => loadConfig(rt), /not a regular file/);
    await assert.rejects(() => addProfileSection(path, "work"), /not a regular file/);
  });
});

Deno.test("item 3: an edit keeps every byte that is not UTF-8", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/config`;
    // Latin-1 "é" and "ü" in a comment and a value, and a lone continuation byte.
    const original = Uint8Array.from([
      ...new TextEncoder().encode("# caf"),
      0xe9,
      ...new TextEncoder().encode("\n[profile m"),
      0xfc,
      ...new TextEncoder().encode("nchen]\nregion = eu-central-1\nx = \x80\n"),
    ]);
    await Deno.writeFile(path, original);
    assert.equal(await addProfileSection(path, "work"), true);
    const after = await Deno.readFile(path);
    assert.deepEqual(after.subarray(0, original.length), original);
    assert.equal(
      new TextDecoder().decode(after.subarray(original.length)),
      "\n[profile work]\n",
    );
  });
});

Deno.test("item 3: a UTF-16 config is named as such, when read and when edited", async () => {
  await withDir(async (dir) => {
    for (
      const [name, bom, le] of [["le", [0xff, 0xfe], true], ["be", [0xfe, 0xff], false]] as const
    ) {
      const path = `${dir}/${name}`;
      const text = "[profile a]\r\nregion = us-east-1\r\n";
      const units = [...text].flatMap((c) => {
        const u = c.charCodeAt(0);
        return le ? [u & 0xff, u >> 8] : [u >> 8, u & 0xff];
      });
      const bytes = Uint8Array.from([...bom, ...units]);
      await Deno.writeFile(path, bytes);
      const rt = testRuntime({ env: { AWS_CONFIG_FILE: path } });
      await assert.rejects(() => loadConfig(rt), /UTF-16/);
      await assert.rejects(() => addProfileSection(path, "work"), /UTF-16/);
      assert.deepEqual(await Deno.readFile(path), bytes);
    }
  });
});

Deno.test("item 4: 20 parallel adds (separate processes) keep all 20 sections", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, "[default]\nregion = eu-west-1\n");
    const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
    const results = await Promise.all(names.map(async (name) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", "--no-check", WORKER, "add-section", path, name],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      return new TextDecoder().decode(out.stdout).trim();
    }));
    assert.deepEqual(results, names.map(() => "ok"));
    const config = parseConfig(await Deno.readTextFile(path), path);
    assert.deepEqual(config.profileNames().sort(), ["default", ...names].sort());
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["config"]);
  });
});
