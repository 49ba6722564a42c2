/**
 * Runs the command of `exec` as a child process: stdio inherited, signals forwarded, exit code
 * passed through. Secrets reach the child only through its environment, never its argv.
 */
import { UserError } from "../errors.ts";

/**
 * Signals passed on to the child: every catchable signal whose default action would end us and
 * leave the child running. Not forwarded: SIGKILL and SIGSTOP (nobody can catch them), SIGILL,
 * SIGFPE and SIGSEGV (Deno refuses to bind them), SIGPIPE (ignored by the runtime), and signals
 * that end nobody (SIGCHLD, SIGWINCH, SIGURG, SIGCONT, the stop signals).
 */
const FORWARDED: Deno.Signal[] = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGTRAP",
  "SIGABRT",
  "SIGBUS",
  "SIGUSR1",
  "SIGUSR2",
  "SIGALRM",
  "SIGTERM",
  "SIGSTKFLT",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGIO",
  "SIGPWR",
  "SIGSYS",
];
/**
 * How a child normally ends when its reader went away (`... | head`) or the user pressed Ctrl-C:
 * shells print nothing for these, and neither do we (the exit code still says it).
 */
const UNREPORTED = new Set<Deno.Signal>(["SIGPIPE", "SIGINT"]);
/** Signals a terminal already sends to the whole foreground process group, child included. */
const FROM_TERMINAL = new Set<Deno.Signal>(["SIGINT", "SIGQUIT"]);

/** Signal numbers by name: Linux, and where macOS/BSD differ. */
const LINUX_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};
const BSD_NUMBERS: Record<string, number> = {
  ...LINUX_NUMBERS,
  SIGEMT: 7,
  SIGBUS: 10,
  SIGUSR1: 30,
  SIGSEGV: 11,
  SIGSYS: 12,
  SIGUSR2: 31,
  SIGURG: 16,
  SIGSTOP: 17,
  SIGTSTP: 18,
  SIGCONT: 19,
  SIGCHLD: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGIO: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGINFO: 29,
};

/** The number of a signal on this OS (undefined for a name we do not know). */
export function signalNumber(
  name: string,
  os: typeof Deno.build.os = Deno.build.os,
): number | undefined {
  const table = os === "darwin" || os === "freebsd" || os === "netbsd"
    ? BSD_NUMBERS
    : LINUX_NUMBERS;
  return table[name];
}

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
  // Listeners first: a signal that arrives while the child starts is held and then delivered,
  // never left to its default action (which would end us and orphan the child).
  let child: Deno.ChildProcess | undefined;
  const held: Deno.Signal[] = [];
  const listeners: [Deno.Signal, () => void][] = [];
  if (Deno.build.os !== "windows") {
    for (const signal of FORWARDED) {
      const forward = () => {
        if (options.interactive && FROM_TERMINAL.has(signal)) return;
        if (!child) return void held.push(signal);
        try {
          child.kill(signal);
        } catch { /* the child already exited */ }
      };
      try {
        Deno.addSignalListener(signal, forward);
        listeners.push([signal, forward]);
      } catch {
        // not a signal of this OS (SIGSTKFLT, SIGPWR outside Linux)
      }
    }
  }
  const removeListeners = () => {
    for (const [signal, fn] of listeners) Deno.removeSignalListener(signal, fn);
  };
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
    removeListeners();
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
  for (const signal of held.splice(0)) {
    try {
      child.kill(signal);
    } catch { /* the child already exited */ }
  }
  try {
    let status: Deno.CommandStatus;
    try {
      status = await child.status;
    } catch (err) {
      // Deno names only the classic signals; a realtime one fails the status with its number.
      const n = /Invalid signal: (\d+)/.exec((err as Error).message)?.[1];
      if (n === undefined) throw err;
      options.report(`${command} was killed by signal ${n}`);
      return 128 + Number(n);
    }
    if (status.signal) {
      if (!UNREPORTED.has(status.signal)) {
        options.report(`${command} was killed by ${status.signal}`);
      }
      return 128 + (signalNumber(status.signal) ?? (status.code > 128 ? status.code - 128 : 0));
    }
    return status.code;
  } finally {
    removeListeners();
  }
}
