/**
 * Runs aws-vault as a user does: a separate process, with its own environment and stdin.
 *
 * `AWS_VAULT_TEST_LAUNCHER` picks what is run, so the e2e suite tests the release artifacts too:
 * - `main` (default): `deno run -A main.ts`;
 * - `bundle`: `deno run -A <file>`, the file from `AWS_VAULT_TEST_BUNDLE` (default
 *   `dist/aws-vault.js`, written by `deno task bundle`);
 * - `binary`: the executable from `AWS_VAULT_TEST_BINARY` (default `dist/aws-vault-<target>` of
 *   this machine, written by `deno task compile`).
 */

const ROOT = new URL("../../", import.meta.url);
const MAIN = new URL("main.ts", ROOT).pathname;

/** The ways of starting aws-vault. */
export const LAUNCHERS = ["main", "bundle", "binary"] as const;
/** One way of starting aws-vault. */
export type Launcher = typeof LAUNCHERS[number];

/** Deno's cache directory of this test process, passed on to every aws-vault run. */
export const DENO_DIR: string = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("HOME")}/.cache/deno`;

/** The result of one run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for one run. */
export interface CliOptions {
  /** The whole environment of the process (nothing is inherited but PATH, unless given). */
  env?: Record<string, string>;
  /** Text written to stdin (stdin is closed after it). */
  stdin?: string;
  cwd?: string;
  /**
   * A program that starts aws-vault with its own arguments and execs it (`keyctl session <name>`,
   * `setpriv ...`): the command line becomes `<wrapper...> deno run -A main.ts <args>`.
   */
  wrapper?: string[];
  /** The command line that starts aws-vault; default {@link cliCommand}. */
  launcher?: string[];
}

/** Runs `aws-vault <args>` with the launcher `AWS_VAULT_TEST_LAUNCHER` names. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    NO_COLOR: "1",
    // Tests give the tool its own HOME; the npm cache must stay the developer's.
    DENO_DIR: DENO_DIR,
    ...options.env,
  };
  const [program, ...programArgs] = [
    ...(options.wrapper ?? []),
    ...(options.launcher ?? cliCommand()),
    ...args,
  ];
  const child = new Deno.Command(program, {
    args: programArgs,
    env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The command line that runs aws-vault, for tests that need it inside another program. */
export function cliCommand(): string[] {
  return launcherCommand(selectedLauncher());
}

/** The launcher `AWS_VAULT_TEST_LAUNCHER` names (default `main`); throws on an unknown name. */
export function selectedLauncher(): Launcher {
  const name = Deno.env.get("AWS_VAULT_TEST_LAUNCHER") || "main";
  if (!(LAUNCHERS as readonly string[]).includes(name)) {
    throw new Error(`AWS_VAULT_TEST_LAUNCHER=${name}: use one of ${LAUNCHERS.join(", ")}`);
  }
  return name as Launcher;
}

/** The command line of one launcher; throws when its artifact has not been built. */
export function launcherCommand(launcher: Launcher): string[] {
  if (launcher === "main") return [Deno.execPath(), "run", "-A", "--quiet", MAIN];
  if (launcher === "bundle") {
    const file = artifact("AWS_VAULT_TEST_BUNDLE", "dist/aws-vault.js", "deno task bundle");
    return [Deno.execPath(), "run", "-A", "--quiet", file];
  }
  return [
    artifact("AWS_VAULT_TEST_BINARY", `dist/aws-vault-${Deno.build.target}`, "deno task compile"),
  ];
}

function artifact(variable: string, fallback: string, build: string): string {
  const path = Deno.env.get(variable) || new URL(fallback, ROOT).pathname;
  try {
    if (Deno.statSync(path).isFile) return path;
  } catch {
    // reported below
  }
  throw new Error(`${path} not found (${variable}): run \`${build}\` first`);
}

/** A running aws-vault whose stderr can be waited on while it runs. */
export interface SpawnedCli {
  /** The process (to signal it). */
  child: Deno.ChildProcess;
  /** Resolves with the first match of `re` in stderr so far (rejects if it exits first). */
  stderrMatch(re: RegExp): Promise<RegExpMatchArray>;
  /** Waits for the exit; returns what run() returns. */
  finish(): Promise<CliResult>;
}

/** Starts `aws-vault <args>` like runCli, without waiting for it (stdin closed). */
export function spawnCli(args: string[], options: CliOptions = {}): SpawnedCli {
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    NO_COLOR: "1",
    DENO_DIR: DENO_DIR,
    ...options.env,
  };
  const [program, ...programArgs] = [
    ...(options.wrapper ?? []),
    ...(options.launcher ?? cliCommand()),
    ...args,
  ];
  const child = new Deno.Command(program, {
    args: programArgs,
    env,
    clearEnv: true,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const dec = new TextDecoder();
  let stderr = "";
  let ended = false;
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const stderrDone = (async () => {
    for await (const chunk of child.stderr) {
      stderr += dec.decode(chunk, { stream: true });
      wake();
    }
    ended = true;
    wake();
  })();
  const stdoutText = new Response(child.stdout).text();
  return {
    child,
    async stderrMatch(re) {
      for (;;) {
        const m = stderr.match(re);
        if (m) return m;
        if (ended) throw new Error(`aws-vault exited before printing ${re}:\n${stderr}`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    async finish() {
      const status = await child.status;
      await stderrDone;
      return { code: status.code, stdout: await stdoutText, stderr };
    },
  };
}
