/** Runs aws-vault on a real pseudo-terminal (via tests/support/pty_run.py) and answers its prompts. */
import { cliCommand, DENO_DIR } from "./cli.ts";
import { type Peer, python3 } from "./peers.ts";

const HELPER = new URL("./pty_run.py", import.meta.url).pathname;

/** The result of a run on a terminal. */
export interface PtyResult {
  code: number;
  /** Everything the terminal showed (stdout, stderr and echoed input). */
  output: string;
  /** Prompts that never appeared. */
  pending: [string, string][];
}

/** Options for runOnPty. */
export interface PtyOptions {
  env: Record<string, string>;
  /** Pairs of [prompt to wait for, text to type]; use "\r" for Enter. */
  steps?: [string, string][];
  /** Connect stdin to /dev/null instead of the terminal (prompts must still work). */
  stdinNull?: boolean;
  /** A program that runs aws-vault with its own arguments (as in cli.ts), e.g. `sh -c '...'`. */
  wrapper?: string[];
  /** The command line that starts aws-vault; default cliCommand(). */
  launcher?: string[];
  /** Seconds before the run is killed (default 60). */
  timeout?: number;
}

/** A pseudo-terminal (python3 with the pty module). */
export const PTY: Peer = {
  name: "python3 pty",
  probe: async () => {
    const out = await new Deno.Command(await python3(), {
      args: ["-c", "import pty, os; pty.openpty()"],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => undefined);
    return out?.success ? undefined : "python3 cannot open a pseudo-terminal";
  },
};

/** Runs `aws-vault <args>` with a pseudo-terminal as its controlling terminal. */
export async function runOnPty(args: string[], options: PtyOptions): Promise<PtyResult> {
  const spec = {
    cmd: [...(options.wrapper ?? []), ...(options.launcher ?? cliCommand()), ...args],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      NO_COLOR: "1",
      DENO_DIR, // the tool gets its own HOME; the npm cache stays the developer's
      ...options.env,
    },
    steps: options.steps ?? [],
    stdin_null: options.stdinNull ?? false,
    timeout: options.timeout,
  };
  return await runPtySpec(spec);
}

/** What pty_run.py runs: a command line, its environment and the prompts to answer. */
export interface PtySpec {
  cmd: string[];
  env: Record<string, string>;
  steps: [string, string][];
  stdin_null?: boolean;
  timeout?: number;
}

/** Runs any command on a pseudo-terminal through pty_run.py (runOnPty runs aws-vault). */
export async function runPtySpec(spec: PtySpec): Promise<PtyResult> {
  // The spec goes through stdin so test secrets never sit in a process's argv.
  const child = new Deno.Command(await python3(), {
    args: [HELPER],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(spec)));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error("pty helper failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}
