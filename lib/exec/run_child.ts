/**
 * Runs the command of `exec` as a child process: stdio inherited, signals forwarded, exit code
 * passed through. Secrets reach the child only through its environment, never its argv. Where
 * the C library can be reached, exec replaces this process instead (exec_or_run.ts).
 */
import { UserError } from "../errors.ts";
import { lookPath } from "../process/path_lookup.ts";
import type { Spawner } from "./posix_spawn.ts";
import { signalName, signalNumber } from "./signal_numbers.ts";

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
  /**
   * How the child is started: the C library's posix_spawn when FFI is allowed (the default,
   * libcSpawner of posix_spawn.ts), or `null` for Deno.Command.
   */
  spawner?: Spawner | null;
}

/** Runs `command args...` and returns the exit code to exit with. */
export async function runChild(
  command: string,
  args: string[],
  options: RunChildOptions,
): Promise<number> {
  // Listeners first: a signal that arrives while the child starts is held and then delivered,
  // never left to its default action (which would end us and orphan the child).
  let child: Started | undefined;
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
    // Loaded only to start a child: exec replaces this process where it can (execve.ts).
    const spawner = options.spawner === undefined
      ? (await import("./posix_spawn.ts")).libcSpawner()
      : options.spawner;
    child = spawner
      ? startWithSpawner(spawner, command, args, options.env)
      : startWithDeno(command, args, options.env);
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
    const ended = await child.ended;
    if (ended.signal === undefined) return ended.code;
    const { name, number } = ended.signal;
    if (!name || !UNREPORTED.has(name)) {
      options.report(`${command} was killed by ${name ?? `signal ${number}`}`);
    }
    return 128 + (number ?? 0);
  } finally {
    removeListeners();
  }
}

/** A running child: how to signal it, and how it ended. */
interface Started {
  kill(signal: Deno.Signal): void;
  ended: Promise<Ended>;
}

/** An exit code, or the signal that killed the child (by name, number or both). */
type Ended =
  | { code: number; signal?: undefined }
  | { signal: { name?: Deno.Signal; number?: number } };

/** The child through the C library (lib/exec/posix_spawn.ts): looked up on its own PATH. */
function startWithSpawner(
  spawner: Spawner,
  command: string,
  args: string[],
  env: Record<string, string>,
): Started {
  // A name with a slash is run as given (posix_spawn tells a missing file from a denied one).
  const path = command.includes("/")
    ? command
    : lookPath(command, env.PATH ?? Deno.env.get("PATH"));
  if (!path) throw new Deno.errors.NotFound(command);
  const child = spawner(path, [command, ...args], env);
  return {
    kill: (signal) => Deno.kill(child.pid, signal),
    ended: child.status.then(({ code, signal }): Ended =>
      signal === undefined ? { code } : { signal: { name: signalName(signal), number: signal } }
    ),
  };
}

/** The child through Deno.Command (no FFI here). */
function startWithDeno(command: string, args: string[], env: Record<string, string>): Started {
  const child = new Deno.Command(command, {
    args,
    env,
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return {
    kill: (signal) => child.kill(signal),
    ended: child.status.then(
      (status): Ended => {
        if (!status.signal) return { code: status.code };
        const number = signalNumber(status.signal) ??
          (status.code > 128 ? status.code - 128 : undefined);
        return { signal: { name: status.signal, number } };
      },
      (err): Ended => {
        // Deno names only the classic signals; a realtime one fails the status with its number.
        const n = /Invalid signal: (\d+)/.exec((err as Error).message)?.[1];
        if (n === undefined) throw err;
        return { signal: { number: Number(n) } };
      },
    ),
  };
}
