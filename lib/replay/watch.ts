/**
 * What a run of the command line read, said and handed out, for lib/replay/recorder.ts: the
 * runtime is wrapped so every variable read by name (and every question about the terminal) is
 * noted, and anything written to stderr or asked on the terminal marks the run as one that
 * must not be replayed.
 */
import type { Runtime } from "../runtime.ts";
import type { SessionUse } from "../store/sessions.ts";
import { HOME_DIR, STDIN_TTY, STDOUT_TTY } from "./record.ts";

/** What one run did that a replay record depends on. */
export interface RunWatch {
  /** The command line. */
  readonly argv: readonly string[];
  /** Variables read by name, and the terminal pseudo-variables (lib/replay/record.ts). */
  readonly names: Set<string>;
  /** Whether the run wrote to stderr or used the terminal (a notice, a prompt, a picker). */
  spoke: boolean;
  /** The cached sessions handed out (lib/store/sessions.ts), in order. */
  readonly uses: SessionUse[];
}

/** Options for watchRun. */
export interface WatchOptions {
  /** Variables read already (parsing the command line). */
  read?: Iterable<string>;
}

/** The runtime to run with, and the watch of what the run does with it. */
export function watchRun(
  argv: readonly string[],
  runtime: Runtime,
  options: WatchOptions = {},
): { runtime: Runtime; watch: RunWatch } {
  const watch: RunWatch = {
    argv: [...argv],
    names: new Set(options.read),
    spoke: false,
    uses: [],
  };
  const { env, terminal } = runtime;
  const spoke = () => {
    watch.spoke = true;
  };
  return {
    watch,
    runtime: {
      ...runtime,
      env: {
        get: (name) => {
          watch.names.add(name);
          return env.get(name);
        },
        // A copy of everything goes only to programs we start, and a run that starts one
        // (credential_process, an MFA program) has no cached session to record.
        toObject: () => env.toObject(),
      },
      homeDir: () => {
        watch.names.add(HOME_DIR);
        return runtime.homeDir();
      },
      stderr: (text) => {
        spoke();
        runtime.stderr(text);
      },
      stdinIsTerminal: () => {
        watch.names.add(STDIN_TTY);
        return runtime.stdinIsTerminal();
      },
      stdoutIsTerminal: () => {
        watch.names.add(STDOUT_TTY);
        return runtime.stdoutIsTerminal();
      },
      terminal: {
        readLine: (prompt, options) => {
          spoke();
          return terminal.readLine(prompt, options);
        },
        ...(terminal.choose
          ? {
            choose: (prompt: string, items: readonly string[]) => {
              spoke();
              return terminal.choose!(prompt, items);
            },
          }
          : {}),
      },
    },
  };
}
