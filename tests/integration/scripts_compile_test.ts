/**
 * scripts/compile.ts: argument handling, the one-line message when no Deno runtime (denort) can
 * be had, and SHA256SUMS. No registry ships denort, so the builds here use a stand-in runtime:
 * Deno accepts any ELF file in a `denort-<target>.zip` for a Linux target (it appends the
 * program to it); Mach-O and PE targets need a real runtime. Downloads go to a closed loopback
 * proxy, so nothing leaves the machine.
 */
import assert from "node:assert/strict";
import {
  compileConfig,
  CompileUsageError,
  outputName,
  parseArgs,
  TARGETS,
} from "../../scripts/compile.ts";
import { DENO_DIR } from "../support/cli.ts";
import { commandPeer, ignoreWithout, python3, requirePeers } from "../support/peers.ts";

const SCRIPT = new URL("../../scripts/compile.ts", import.meta.url).pathname;
const ELF = "/bin/true";
/** A Linux target that is not this machine (its binary is never run). */
const OTHER_LINUX = Deno.build.target === "aarch64-unknown-linux-gnu"
  ? "x86_64-unknown-linux-gnu"
  : "aarch64-unknown-linux-gnu";

const ZIPFILE = commandPeer("python3 zipfile", "python3", ["-c", "import zipfile"]);
const noZipfile = await ignoreWithout(ZIPFILE);

const env = (vars: Record<string, string> = {}) => ({ get: (name: string) => vars[name] });

Deno.test("compile arguments: defaults, targets, runtimes", () => {
  assert.deepEqual(parseArgs([], env()), {
    targets: [...TARGETS],
    runtimes: new Map(),
    outDir: "dist",
  });
  const one = parseArgs([
    "--target",
    OTHER_LINUX,
    "--runtime",
    `${OTHER_LINUX}=/r/denort`,
    "--out-dir",
    "o",
  ], env());
  assert.deepEqual(one, {
    targets: [OTHER_LINUX],
    runtimes: new Map([[OTHER_LINUX, "/r/denort"]]),
    outDir: "o",
  });
  // DENORT_BIN is one runtime: it serves one target, and --runtime wins over it.
  const fromEnv = parseArgs(["--target", OTHER_LINUX], env({ DENORT_BIN: "/d" }));
  assert.deepEqual(fromEnv.runtimes, new Map([[OTHER_LINUX, "/d"]]));
  assert.equal(outputName("x86_64-pc-windows-msvc"), "aws-vault-x86_64-pc-windows-msvc.exe");
  assert.equal(outputName(OTHER_LINUX), `aws-vault-${OTHER_LINUX}`);
});

Deno.test("compile arguments: each mistake is one clear message", () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["--target", "x86_64-linux"], {}, /^unknown target x86_64-linux; one of /],
    [["--target"], {}, /^--target needs a value$/],
    [["--target", ""], {}, /^--target needs a value$/],
    [["--out-dir"], {}, /^--out-dir needs a value$/],
    [["--bogus"], {}, /^unknown argument --bogus$/],
    [["x86_64-unknown-linux-gnu"], {}, /^unknown argument x86_64-unknown-linux-gnu$/],
    [
      ["--runtime", "/path/denort"],
      {},
      /^--runtime \/path\/denort: use --runtime <target>=<denort file>$/,
    ],
    [["--runtime", `${OTHER_LINUX}=`], {}, /use --runtime <target>=<denort file>$/],
    [["--runtime", "=x"], {}, /use --runtime <target>=<denort file>$/],
    [["--runtime", "mips-unknown-linux-gnu=/x"], {}, /^unknown target mips-unknown-linux-gnu;/],
    [["--target", OTHER_LINUX, "--runtime", "x86_64-apple-darwin=/x"], {}, /is not being built$/],
    [[], { DENORT_BIN: "/d" }, /^DENORT_BIN is the runtime of one target/],
  ];
  for (const [args, vars, message] of cases) {
    assert.throws(() => parseArgs(args, env(vars)), (err: Error) => {
      assert.ok(err instanceof CompileUsageError, String(err));
      assert.match(err.message, message);
      return true;
    }, args.join(" "));
  }
});

/** A Deno cache of its own that shares the real npm packages, with nothing in dl/. */
async function scratchDenoDir(dir: string): Promise<string> {
  const denoDir = `${dir}/deno_dir`;
  await Deno.mkdir(`${denoDir}/dl/release/v${Deno.version.deno}`, { recursive: true });
  await Deno.symlink(`${DENO_DIR}/npm`, `${denoDir}/npm`);
  return denoDir;
}

/** Writes a zip holding one stored (uncompressed) file, as Deno's runtime zips hold denort. */
async function writeZip(path: string, name: string, data: Uint8Array): Promise<void> {
  const out = await new Deno.Command(await python3(), {
    args: [
      "-c",
      "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], 'w'); z.writestr(sys.argv[2], sys.stdin.buffer.read()); z.close()",
      path,
      name,
    ],
    stdin: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(data);
  await w.close();
  assert.ok((await out.status).success, "python3 zipfile");
}

async function runCompile(args: string[], vars: Record<string, string>, cwd: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", SCRIPT, ...args],
    cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? cwd,
      NO_COLOR: "1",
      // Deno's runtime download goes nowhere: a closed port on loopback.
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      ...vars,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "compile: runtimes given or cached, SHA256SUMS, and one line when none can be had",
  ignore: noZipfile,
}, async (t) => {
  await requirePeers(ZIPFILE);
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-compile-" });
  try {
    const denoDir = await scratchDenoDir(dir);
    const vars = { DENO_DIR: denoDir };
    const zipOf = (target: string) =>
      `${denoDir}/dl/release/v${Deno.version.deno}/denort-${target}.zip`;

    await t.step("no runtime: one line naming the zip it needed, exit 1", async () => {
      const run = await runCompile(
        ["--target", "x86_64-apple-darwin", "--out-dir", `${dir}/none`],
        vars,
        dir,
      );
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        `compile: x86_64-apple-darwin: no Deno runtime: needs ${zipOf("x86_64-apple-darwin")} ` +
          "(download failed); put the zip there or give --runtime x86_64-apple-darwin=<denort>\n",
      );
      // Nothing half-built is left, and no SHA256SUMS lists what was not built.
      assert.deepEqual([...Deno.readDirSync(`${dir}/none`)], []);
    });

    await t.step("a usage mistake exits 2 before building anything", async () => {
      const run = await runCompile(["--target", "nope"], vars, dir);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /^compile: unknown target nope; one of x86_64-unknown-linux-gnu, /);
      assert.equal(run.stderr.split("\n").length, 2);
    });

    await t.step("a runtime file that does not exist", async () => {
      const run = await runCompile(
        [
          "--target",
          OTHER_LINUX,
          "--runtime",
          `${OTHER_LINUX}=${dir}/missing`,
          "--out-dir",
          `${dir}/m`,
        ],
        vars,
        dir,
      );
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        `compile: ${OTHER_LINUX}: runtime ${dir}/missing is not a readable file\n`,
      );
    });

    await t.step(
      "a cached runtime zip: the binary and a sha256sum-checkable SHA256SUMS",
      async () => {
        await writeZip(zipOf(OTHER_LINUX), "denort", await Deno.readFile(ELF));
        const out = `${dir}/out`;
        const run = await runCompile(["--target", OTHER_LINUX, "--out-dir", out], vars, dir);
        assert.equal(run.code, 0, run.stderr);
        const name = outputName(OTHER_LINUX);
        const sums = await Deno.readTextFile(`${out}/SHA256SUMS`);
        assert.match(sums, new RegExp(`^[0-9a-f]{64}  ${name}\n$`));
        const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${out}/${name}`));
        assert.equal(sums.slice(0, 64), new Uint8Array(digest).toHex());
        // The program is in it (Deno appends it to the runtime), not just the stand-in runtime.
        assert.ok((await Deno.stat(`${out}/${name}`)).size > (await Deno.stat(ELF)).size + 100_000);
        const check = await new Deno.Command("sha256sum", { args: ["-c", "SHA256SUMS"], cwd: out })
          .output();
        assert.ok(check.success, "sha256sum -c SHA256SUMS");
      },
    );

    await t.step(
      "a runtime that is not denort fails the version check of this machine's binary",
      async () => {
        const out = `${dir}/host`;
        const run = await runCompile(
          ["--target", Deno.build.target, "--out-dir", out],
          { ...vars, DENORT_BIN: ELF },
          dir,
        );
        assert.equal(run.code, 1);
        assert.match(
          run.stderr,
          /^compile: .* --version printed ".*", not \d+\.\d+\.\d+: was the runtime denort [\d.]+\?\n$/,
        );
        assert.deepEqual([...Deno.readDirSync(out)], [], "the broken binary is removed");
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// deno.json's lazy dynamic imports would leave every `await import()` target (commands, backends,
// the SDK) out of the executable: the build's configuration must not have it.
Deno.test("compile configuration: deno.json without lazy dynamic imports, the project's lock", async () => {
  const root = decodeURIComponent(new URL("../../", import.meta.url).pathname);
  const project = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  const file = await compileConfig();
  try {
    const config = JSON.parse(await Deno.readTextFile(file));
    assert.ok(!config.unstable.includes("lazy-dynamic-imports"));
    assert.equal(config.lock, `${root}deno.lock`);
    assert.deepEqual(config.imports, project.imports);
  } finally {
    await Deno.remove(file);
  }
});
