/**
 * The release build: one self-contained executable per OS with `deno compile`, written to
 * `<out-dir>/aws-vault-<target>` (`.exe` on Windows), and `<out-dir>/SHA256SUMS` (the format of
 * `sha256sum`, so `sha256sum -c SHA256SUMS` checks a download). The version is the one the
 * program prints (`aws-vault --version`); the binary for this machine is run once to check that
 * it prints it too.
 *
 * `deno compile` puts a Deno runtime (`denort`) into each executable. It takes, per target:
 * 1. `--runtime <target>=<file>`: a denort binary you give (for offline builds);
 * 2. `DENORT_BIN=<file>` when one target is built (Deno uses it for whatever target it builds);
 * 3. `$DENO_DIR/dl/release/v<deno version>/denort-<target>.zip`, where Deno keeps what it
 *    downloaded and where you can put a zip from https://dl.deno.land/release/v<version>/;
 * 4. otherwise Deno downloads that zip. When it cannot, the target fails with one line naming
 *    the file it needed.
 *
 * Usage: deno task compile [--target <target>]... [--runtime <target>=<file>]... [--out-dir dist]
 */

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** Every target a release ships. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** What to build. */
export interface CompileOptions {
  targets: string[];
  /** A denort binary per target. */
  runtimes: Map<string, string>;
  outDir: string;
}

/** A command-line mistake: one line, exit code 2. */
export class CompileUsageError extends Error {}

/** Parses the command line; `env` supplies DENORT_BIN. Throws {@link CompileUsageError}. */
export function parseArgs(
  args: string[],
  env: { get(name: string): string | undefined },
): CompileOptions {
  const targets: string[] = [];
  const runtimes = new Map<string, string>();
  let outDir = "dist";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v === "") throw new CompileUsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === "--target") targets.push(checkTarget(value()));
    else if (arg === "--out-dir") outDir = value();
    else if (arg === "--runtime") {
      const v = value();
      const eq = v.indexOf("=");
      if (eq <= 0 || eq === v.length - 1) {
        throw new CompileUsageError(`--runtime ${v}: use --runtime <target>=<denort file>`);
      }
      runtimes.set(checkTarget(v.slice(0, eq)), v.slice(eq + 1));
    } else throw new CompileUsageError(`unknown argument ${arg}`);
  }
  const selected = targets.length > 0 ? [...new Set(targets)] : [...TARGETS];
  const denortBin = env.get("DENORT_BIN");
  if (denortBin) {
    if (selected.length !== 1) {
      throw new CompileUsageError(
        "DENORT_BIN is the runtime of one target: add --target, or give --runtime <target>=<file>",
      );
    }
    if (!runtimes.has(selected[0])) runtimes.set(selected[0], denortBin);
  }
  for (const target of runtimes.keys()) {
    if (!selected.includes(target)) {
      throw new CompileUsageError(`--runtime ${target}=...: ${target} is not being built`);
    }
  }
  return { targets: selected, runtimes, outDir };
}

function checkTarget(target: string): string {
  if ((TARGETS as readonly string[]).includes(target)) return target;
  throw new CompileUsageError(`unknown target ${target}; one of ${TARGETS.join(", ")}`);
}

/** The executable's file name for a target. */
export function outputName(target: string): string {
  return `aws-vault-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** Where Deno looks for (and downloads) the runtime zip of a target. */
export function runtimeZipPath(denoDir: string, target: string): string {
  return `${denoDir}/dl/release/v${Deno.version.deno}/denort-${target}.zip`;
}

/** `sha256sum` lines for files in one directory: `<hex>  <name>`. */
export async function sha256sums(dir: string, names: string[]): Promise<string> {
  let text = "";
  for (const name of [...names].sort()) {
    const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${dir}/${name}`));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    text += `${hex}  ${name}\n`;
  }
  return text;
}

/** Compiles main.ts for one target into outDir; returns the file name or throws one line. */
export async function compile(
  target: string,
  options: { outDir: string; runtime?: string; denoDir: string },
): Promise<string> {
  const zip = runtimeZipPath(options.denoDir, target);
  if (options.runtime !== undefined) {
    try {
      if (!(await Deno.stat(options.runtime)).isFile) throw new Error("not a file");
    } catch {
      throw new Error(`${target}: runtime ${options.runtime} is not a readable file`);
    }
  }
  const name = outputName(target);
  const env: Record<string, string> = { NO_COLOR: "1", DENO_DIR: options.denoDir };
  if (options.runtime !== undefined) env.DENORT_BIN = options.runtime;
  const config = await compileConfig();
  const result = await new Deno.Command(Deno.execPath(), {
    // -A: aws-vault reads config and keyrings, runs children and serves credentials on loopback.
    args: [
      "compile",
      "-A",
      "--quiet",
      "--frozen",
      `--config=${config}`,
      "--target",
      target,
      "--output",
      `${options.outDir}/${name}`,
      "main.ts",
    ],
    cwd: ROOT,
    env,
    stdout: "inherit",
    stderr: "piped",
  }).output().finally(() => Deno.remove(config));
  if (result.success) return name;
  const stderr = new TextDecoder().decode(result.stderr);
  const noRuntime = options.runtime === undefined && !(await exists(zip));
  if (noRuntime) {
    throw new Error(
      `${target}: no Deno runtime: needs ${zip} (download failed); put the zip there or give ` +
        `--runtime ${target}=<denort>`,
    );
  }
  throw new Error(`${target}: deno compile failed: ${lastCause(stderr)}`);
}

/**
 * deno.json without "lazy-dynamic-imports", in a temporary file (with the project's deno.lock).
 * That setting makes `deno run` walk only the modules a command loads (start-up time), but it
 * also makes `deno compile` leave every dynamically imported module out of the executable.
 */
export async function compileConfig(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  config.unstable = (config.unstable ?? []).filter((f: string) => f !== "lazy-dynamic-imports");
  config.lock = `${ROOT}deno.lock`;
  const file = await Deno.makeTempFile({ prefix: "aws-vault-compile-", suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(config));
  return file;
}

/** The innermost cause Deno printed, on one line. */
function lastCause(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) =>
    l && !/^Stack backtrace:|^\d+: <unknown>$|^Caused by:$/.test(l)
  );
  return (lines.at(-1) ?? "no output").replace(/^\d+: /, "");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function sourceVersion(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "main.ts", "--version"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("main.ts --version failed");
  return new TextDecoder().decode(out.stdout).trim();
}

/** Runs the binary built for this machine and checks it prints the source's version. */
async function checkVersion(file: string, version: string): Promise<void> {
  let printed = "";
  try {
    const out = await new Deno.Command(file, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).output();
    printed = new TextDecoder().decode(out.stdout).trim().split("\n")[0] ?? "";
  } catch (err) {
    printed = err instanceof Error ? err.message : String(err);
  }
  if (printed !== version) {
    throw new Error(
      `${file} --version printed "${
        printed.slice(0, 80)
      }", not ${version}: was the runtime denort ${Deno.version.deno}?`,
    );
  }
}

async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

async function main(): Promise<number> {
  let options: CompileOptions;
  try {
    options = parseArgs(Deno.args, Deno.env);
  } catch (err) {
    if (!(err instanceof CompileUsageError)) throw err;
    console.error(`compile: ${err.message}`);
    return 2;
  }
  const outDir = options.outDir.startsWith("/")
    ? options.outDir
    : `${Deno.cwd()}/${options.outDir}`;
  await Deno.mkdir(outDir, { recursive: true });
  const [version, dir] = await Promise.all([sourceVersion(), denoDir()]);
  console.log(`aws-vault ${version}, deno ${Deno.version.deno}`);
  const built: string[] = [];
  let failed = 0;
  for (const target of options.targets) {
    try {
      const name = await compile(target, {
        outDir,
        runtime: options.runtimes.get(target),
        denoDir: dir,
      });
      if (target === Deno.build.target) {
        await checkVersion(`${outDir}/${name}`, version).catch(async (err) => {
          await Deno.remove(`${outDir}/${name}`); // never leave a broken binary to ship
          throw err;
        });
      }
      built.push(name);
      console.log(`wrote ${outDir}/${name}`);
    } catch (err) {
      console.error(`compile: ${err instanceof Error ? err.message : err}`);
      failed++;
    }
  }
  if (built.length > 0) {
    const tmp = `${outDir}/SHA256SUMS.tmp`;
    await Deno.writeTextFile(tmp, await sha256sums(outDir, built));
    await Deno.rename(tmp, `${outDir}/SHA256SUMS`);
    console.log(`wrote ${outDir}/SHA256SUMS (${built.length} of ${options.targets.length})`);
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (err) {
    console.error(`compile: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
