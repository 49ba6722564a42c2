/**
 * Replaces this process with exec's command, as aws-vault does in its environment mode
 * (execve): the command keeps our pid, terminal and process group, receives every signal
 * itself and ends with its own exit status, so there is nothing to forward, wait for or
 * report. execve itself puts every signal Deno handles back to its default and keeps the ignored
 * ones ignored (`nohup`); before the call SIGPIPE, which the Rust runtime ignores in every Deno
 * process, is put back to its default too, and no signal is left blocked. If execve fails, both
 * are restored and the caller starts a child instead. Undefined from {@link libcReplacer}: no
 * FFI permission, no known C library, or Windows.
 */
import { cCommand, openLibc, SIGSET_BYTES } from "./libc.ts";

/** Replacing this process, over the C library. */
export interface Replacer {
  /** Replaces the process with `path` (argv, env); returns only when that failed. */
  replace(path: string, argv: string[], env: Record<string, string>): void;
  /**
   * False when nothing is at `path` (access(2), F_OK); true when something may be. Finding the
   * command on PATH asks this of every entry: a failed stat costs ~0.2 ms (a thrown error).
   */
  mayExist(path: string): boolean;
}

// Pointers, not buffers: Deno builds each symbol's call stub when the library is opened, and a
// buffer parameter costs more to build than a pointer (0.5 against 0.2 ms, measured). Not
// nonblocking: no stub then, but a call hops to another thread and back (0.5 ms for signal()).
const SYMBOLS = {
  access: { parameters: ["pointer", "i32"], result: "i32" },
  execve: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  pthread_sigmask: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** access()'s "does it exist" mode. */
const F_OK = 0;
/** SIGPIPE's number (the same on Linux and macOS). */
const SIGPIPE = 13;

/** pthread_sigmask's `how` for "set the mask to": Linux 2, macOS 3. */
function sigSetMask(os: typeof Deno.build.os): number {
  return os === "darwin" ? 3 : 2;
}

/** A replacer over the C library, or undefined where none can be (see the module doc). */
export function libcReplacer(os: typeof Deno.build.os = Deno.build.os): Replacer | undefined {
  const libc = openLibc(os, SYMBOLS);
  return libc && {
    replace: (file, argv, env) => replace(libc, os, file, argv, env),
    mayExist: (path) => {
      if (path.includes("\0")) return true; // stat says what it is
      const text = new TextEncoder().encode(`${path}\0`);
      return libc.access(Deno.UnsafePointer.of(text), F_OK) === 0;
    },
  };
}

function replace(
  libc: Libc,
  os: typeof Deno.build.os,
  file: string,
  argv: string[],
  env: Record<string, string>,
): void {
  // Everything that can throw (a NUL in a string) happens before anything is changed.
  const command = cCommand(file, argv, env);
  const of = (buffer: BufferSource) => Deno.UnsafePointer.of(buffer);
  const how = sigSetMask(os);
  const oldMask = new Uint8Array(SIGSET_BYTES);
  const pipe = libc.signal(SIGPIPE, null);
  libc.pthread_sigmask(how, of(new Uint8Array(SIGSET_BYTES)), of(oldMask));
  libc.execve(of(command.path), of(command.argv), of(command.envp));
  // Still here: execve failed and changed nothing; neither did we, once this is undone.
  libc.pthread_sigmask(how, of(oldMask), null);
  libc.signal(SIGPIPE, pipe);
}
