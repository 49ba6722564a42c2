/** Runs aws-vault as a user does: a separate process, with its own environment and stdin. */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

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
}

/** Starts `aws-vault <args>` with `deno run -A main.ts`, stdout and stderr piped. */
function startCli(
  args: string[],
  options: CliOptions,
  stdin: "piped" | "null",
): Deno.ChildProcess {
  const env = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    NO_COLOR: "1",
    // Tests give the tool its own HOME; the npm cache must stay the developer's.
    DENO_DIR: DENO_DIR,
    ...options.env,
  };
  const [program, ...programArgs] = [...(options.wrapper ?? []), ...cliCommand(), ...args];
  return new Deno.Command(program, {
    args: programArgs,
    env,
    clearEnv: true,
    cwd: options.cwd,
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs `aws-vault <args>` with `deno run -A main.ts`. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = startCli(args, options, "piped");
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The command line that runs aws-vault, for tests that need it inside another program. */
export function cliCommand(): string[] {
  return [Deno.execPath(), "run", "-A", "--quiet", MAIN];
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
  const child = startCli(args, options, "null");
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
