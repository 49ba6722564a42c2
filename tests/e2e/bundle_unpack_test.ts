/**
 * The single file's bootstrap (scripts/bundle_bootstrap.js): it unpacks the program's modules
 * once per version into a per-user cache directory and runs them from there. Code is imported
 * from that directory, so it must be ours and closed to others; unpacking must be atomic under
 * parallel first runs and kill -9; a damaged file or no usable place is one line and exit 1.
 */
import assert from "node:assert/strict";
import { helpText } from "../../lib/cli/help.ts";
import { ROOT } from "../../lib/cli/table.ts";
import { bundle } from "../../scripts/bundle.ts";
import { runCli } from "../support/cli.ts";

const DENO_BIN_DIR = Deno.execPath().replace(/\/[^/]*$/, "");

async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

Deno.test("the bundle unpacks its program once, safely, and runs it from the cache", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "aws-vault-unpack-" });
  try {
    const file = await bundle({ output: `${root}/aws-vault.js` });
    let n = 0;
    /** A fresh HOME and TMPDIR; the config has one profile. */
    const place = async () => {
      const home = `${root}/home${n++}`;
      await Deno.mkdir(`${home}/tmp`, { recursive: true });
      await Deno.writeTextFile(`${home}/config`, "[profile p]\nregion = eu-west-1\n");
      return home;
    };
    const envOf = (home: string, extra: Record<string, string> = {}) => ({
      HOME: home,
      TMPDIR: `${home}/tmp`,
      AWS_CONFIG_FILE: `${home}/config`,
      PATH: `${DENO_BIN_DIR}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      ...extra,
    });
    const run = (home: string, args: string[], extra: Record<string, string> = {}) =>
      runCli(args, { env: envOf(home, extra), cwd: home, launcher: [file] });
    const cache = (home: string) => `${home}/.cache/aws-vault`;

    await t.step("first run: one program directory, 0700, modules 0600, no leftovers", async () => {
      const home = await place();
      const out = await run(home, ["list", "--profiles"]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stdout, "p\n");
      const names = await entries(cache(home));
      assert.equal(names.length, 1, names.join(" "));
      assert.match(names[0], /^program-[0-9a-f]{32}$/);
      assert.equal((await Deno.stat(cache(home))).mode! & 0o777, 0o700);
      const program = `${cache(home)}/${names[0]}`;
      assert.equal((await Deno.stat(program)).mode! & 0o777, 0o700);
      const modules = await entries(program);
      assert.ok(modules.includes("main.js") && modules.includes("sdk.js"), modules.join(" "));
      for (const m of modules) {
        assert.equal((await Deno.stat(`${program}/${m}`)).mode! & 0o777, 0o600, m);
      }
      // Later runs import what is there: nothing is written again.
      const before = await Deno.stat(`${program}/main.js`);
      assert.equal((await run(home, ["--version"])).code, 0);
      const after = await Deno.stat(`${program}/main.js`);
      assert.equal(after.ino, before.ino);
      assert.equal(after.mtime?.getTime(), before.mtime?.getTime());
    });

    await t.step("--help and help: the table's root help, built in, nothing unpacked", async () => {
      const home = await place();
      for (const args of [["--help"], ["help"]]) {
        const out = await run(home, args);
        assert.deepEqual([out.code, out.stderr], [0, ""], args.join(" "));
        assert.equal(out.stdout, helpText([ROOT]), args.join(" "));
      }
      assert.deepEqual(await entries(cache(home)), []);
      // Any other call runs the program: help of a command, or a flag beside --help.
      const sub = await run(home, ["help", "list"]);
      assert.equal(sub.stdout, helpText([ROOT, ROOT.subcommands!.find((c) => c.name === "list")!]));
      const debug = await run(home, ["--help", "--debug"]);
      assert.equal(debug.stdout, helpText([ROOT]));
      assert.equal((await entries(cache(home))).length, 1);
    });

    await t.step("XDG_CACHE_HOME is preferred to ~/.cache", async () => {
      const home = await place();
      const out = await run(home, ["--version"], { XDG_CACHE_HOME: `${home}/xdg` });
      assert.equal(out.code, 0, out.stderr);
      assert.equal((await entries(`${home}/xdg/aws-vault`)).length, 1);
      assert.deepEqual(await entries(cache(home)), []);
    });

    await t.step("parallel first runs: all succeed, one directory, no leftovers", async () => {
      const home = await place();
      const runs = await Promise.all(
        Array.from({ length: 8 }, () => run(home, ["list", "--profiles"])),
      );
      for (const r of runs) assert.deepEqual([r.code, r.stdout, r.stderr], [0, "p\n", ""]);
      const names = await entries(cache(home));
      assert.equal(names.length, 1, names.join(" "));
    });

    await t.step("a cache others can write into is never used: the next place is", async () => {
      const home = await place();
      await Deno.mkdir(cache(home), { recursive: true });
      await Deno.chmod(cache(home), 0o777);
      const out = await run(home, ["list", "--profiles"]);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(await entries(cache(home)), [], "nothing unpacked into the open directory");
      const fallback = await entries(`${home}/tmp`);
      assert.equal(fallback.length, 1);
      assert.match(fallback[0], /^aws-vault-\d+$/);
      assert.equal((await entries(`${home}/tmp/${fallback[0]}`)).length, 1);
    });

    await t.step("a program directory replaced by a symlink is not followed", async () => {
      const home = await place();
      assert.equal((await run(home, ["--version"])).code, 0);
      const [name] = await entries(cache(home));
      // Someone swaps our directory for a link to theirs, with a main.js of their own.
      await Deno.mkdir(`${home}/evil`);
      await Deno.writeTextFile(`${home}/evil/main.js`, 'console.log("evil"); Deno.exit(0);');
      await Deno.remove(`${cache(home)}/${name}`, { recursive: true });
      await Deno.symlink(`${home}/evil`, `${cache(home)}/${name}`);
      const out = await run(home, ["--version"]);
      assert.equal(out.code, 0, out.stderr);
      assert.doesNotMatch(out.stdout, /evil/);
      assert.match(out.stdout, /^\d+\.\d+\.\d+/);
    });

    await t.step("an unpack killed midway, and old versions, are swept at the next", async () => {
      const home = await place();
      await Deno.mkdir(cache(home), { recursive: true, mode: 0o700 });
      const old = new Date(Date.now() - 40 * 24 * 3600_000);
      const hourAgo = new Date(Date.now() - 2 * 3600_000);
      for (const [name, when] of [[".unpack-killed", hourAgo], ["program-old", old]] as const) {
        await Deno.mkdir(`${cache(home)}/${name}`);
        await Deno.writeTextFile(`${cache(home)}/${name}/main.js`, "");
        await Deno.utime(`${cache(home)}/${name}`, when, when);
      }
      await Deno.mkdir(`${cache(home)}/.unpack-running`); // another run, unpacking now
      await Deno.mkdir(`${cache(home)}/program-recent`); // a version used lately
      assert.equal((await run(home, ["--version"])).code, 0);
      const left = await entries(cache(home));
      assert.ok(!left.includes(".unpack-killed") && !left.includes("program-old"), left.join());
      assert.ok(left.includes(".unpack-running") && left.includes("program-recent"), left.join());
    });

    await t.step("served from a URL (deno run http://...): unpacked the same way", async () => {
      const home = await place();
      const text = await Deno.readTextFile(file);
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        () => new Response(text, { headers: { "content-type": "application/javascript" } }),
      );
      try {
        const url = `http://127.0.0.1:${server.addr.port}/aws-vault.js`;
        const out = await runCli(["list", "--profiles"], {
          env: envOf(home, { DENO_DIR: `${home}/deno_dir` }),
          cwd: home,
          launcher: [Deno.execPath(), "run", "-A", "--quiet", url],
        });
        assert.equal(out.code, 0, out.stderr);
        assert.equal(out.stdout, "p\n");
        assert.equal((await entries(cache(home))).length, 1);
      } finally {
        await server.shutdown();
      }
    });

    await t.step("a damaged file: one line, exit 1, nothing unpacked", async () => {
      const home = await place();
      const text = await Deno.readTextFile(file);
      const damaged = `${home}/damaged.js`;
      // Cut inside the archive, as an interrupted download or copy would.
      await Deno.writeTextFile(damaged, text.slice(0, text.length - 5000), { mode: 0o755 });
      const out = await runCli(["--version"], { env: envOf(home), cwd: home, launcher: [damaged] });
      assert.equal(out.code, 1);
      assert.match(out.stderr, /^aws-vault: error: cannot unpack the program \(.*\)\n$/);
      assert.deepEqual(await entries(`${cache(home)}`), []);
      // Cut right after the archive's line, before the short last line: the archive may be whole,
      // but the file is not, and it says so.
      const lastLine = text.slice(0, -1).lastIndexOf("\n") + 1;
      await Deno.writeTextFile(damaged, text.slice(0, lastLine), { mode: 0o755 });
      const cut = await runCli(["--version"], { env: envOf(home), cwd: home, launcher: [damaged] });
      assert.equal(cut.code, 1);
      assert.match(cut.stderr, /^aws-vault: error: cannot unpack the program \(.*cut short.*\)\n$/);
      assert.deepEqual(await entries(`${cache(home)}`), []);
    });

    await t.step("no usable place at all: one line, exit 1", async () => {
      const home = await place();
      await Deno.writeTextFile(`${home}/.cache`, "a file, not a directory");
      await Deno.writeTextFile(`${home}/notdir`, "");
      const out = await run(home, ["--version"], { TMPDIR: `${home}/notdir` });
      assert.equal(out.code, 1);
      assert.match(out.stderr, /^aws-vault: error: cannot unpack the program \(.*\)\n$/);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
