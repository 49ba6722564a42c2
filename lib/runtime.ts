/**
 * The side effects the core needs, in one bundle: environment, clock, home directory, output
 * streams and the controlling terminal. main.ts builds the real one; tests build their own with
 * test collaborators, so nothing patches globals.
 */
import type { Terminal } from "./terminal.ts";

/** Read access to environment variables. */
export interface Env {
  /** The value of a variable, undefined when unset. */
  get(name: string): string | undefined;
  /** A copy of all variables. */
  toObject(): Record<string, string>;
}

/** Side effects passed to commands and the core. */
export interface Runtime {
  env: Env;
  /** The current time. */
  now(): Date;
  /** The user's home directory. */
  homeDir(): string;
  /** Writes text to standard output. */
  stdout(text: string): void;
  /** Writes text to standard error. */
  stderr(text: string): void;
  /** Whether standard output is a terminal (drives prompt auto-selection and banners). */
  stdoutIsTerminal(): boolean;
  /** Whether standard input is a terminal (someone can answer an interactive picker). */
  stdinIsTerminal(): boolean;
  /** The controlling terminal, for hidden-input prompts that must work when stdin is piped. */
  terminal: Terminal;
  /** The operating system, as Deno.build.os spells it. */
  os: typeof Deno.build.os;
}

/** An Env over a plain object (for tests and child environments). */
export function envFromObject(vars: Record<string, string | undefined>): Env {
  const copy: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) copy[k] = v;
  return {
    get: (name) => copy[name],
    toObject: () => ({ ...copy }),
  };
}

/** `~` and `~/...` as the user's home directory (as Go's aws-vault expands its paths). */
export function expandHome(path: string, homeDir: () => string): string {
  return path === "~" || path.startsWith("~/") ? homeDir() + path.slice(1) : path;
}

const encoder = new TextEncoder();

/** The real runtime of this process (debug output is a Logger, passed separately). */
export function denoRuntime(): Runtime {
  const env: Env = {
    get: (name) => Deno.env.get(name),
    toObject: () => Deno.env.toObject(),
  };
  return {
    env,
    now: () => new Date(),
    homeDir: () => {
      const home = env.get("HOME") ?? env.get("USERPROFILE");
      if (!home) throw new Error("cannot find the home directory: HOME is not set");
      return home;
    },
    stdout: (text) => writeAll(Deno.stdout, text),
    stderr: (text) => writeAll(Deno.stderr, text),
    stdoutIsTerminal: () => Deno.stdout.isTerminal(),
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    terminal: lazyTtyTerminal(),
    os: Deno.build.os,
  };
}

/** The controlling terminal (lib/terminal.ts), loaded at the first prompt: most runs ask nothing. */
function lazyTtyTerminal(): Terminal {
  let tty: Promise<Terminal> | undefined;
  const open = () => tty ??= import("./terminal.ts").then((m) => m.ttyTerminal());
  return {
    readLine: async (prompt, options) => await (await open()).readLine(prompt, options),
    choose: async (prompt, items) => {
      const terminal = await open();
      if (!terminal.choose) throw new Error("this terminal has no picker");
      return await terminal.choose(prompt, items);
    },
  };
}

function writeAll(w: { writeSync(p: Uint8Array): number }, text: string): void {
  let data = encoder.encode(text);
  while (data.length > 0) data = data.subarray(w.writeSync(data));
}
