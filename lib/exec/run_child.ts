/**
 * Runs the command of `exec` as a child process: stdio inherited, signals forwarded, exit code
 * passed through. Secrets reach the child only through its environment, never its argv.
 */
import { UserError } from "../errors.ts";

/** Signals passed on to the child. */
const FORWARDED: Deno.Signal[] = ["SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGINT", "SIGQUIT"];
/** Signals a terminal already sends to the whole foreground process group, child included. */
const FROM_TERMINAL = new Set<Deno.Signal>(["SIGINT", "SIGQUIT"]);

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/** Options for runChild. */
export interface RunChildOptions {
  env: Record<string, string>;
  /**
   * Whether our stdin is a terminal: then Ctrl-C already reached the child through the
   * terminal, and forwarding SIGINT too would deliver it twice (terraform cancels hard on two).
   */
  interactive: boolean;
  /** Reports how the child ended when that was a signal. */
  report: (text: string) => void;
}

/** Runs `command args...` and returns the exit code to exit with. */
export async function runChild(
  command: string,
  args: string[],
  options: RunChildOptions,
): Promise<number> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      env: options.env,
      clearEnv: true,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new UserError(`exec: ${command}: command not found`, { exitCode: 127 });
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new UserError(`exec: ${command}: permission denied`, { exitCode: 126 });
    }
    throw new UserError(`exec: cannot run ${command}: ${(err as Error).message}`, {
      exitCode: 126,
    });
  }
  const listeners: [Deno.Signal, () => void][] = [];
  if (Deno.build.os !== "windows") {
    for (const signal of FORWARDED) {
      const forward = () => {
        if (options.interactive && FROM_TERMINAL.has(signal)) return;
        try {
          child.kill(signal);
        } catch { /* the child already exited */ }
      };
      Deno.addSignalListener(signal, forward);
      listeners.push([signal, forward]);
    }
  }
  try {
    const status = await child.status;
    if (status.signal) {
      options.report(`${command} was killed by ${status.signal}`);
      return 128 + (SIGNAL_NUMBERS[status.signal] ?? 0);
    }
    return status.code;
  } finally {
    for (const [signal, fn] of listeners) Deno.removeSignalListener(signal, fn);
  }
}
