/**
 * Replaces this process with exec's command, as aws-vault does in its environment mode
 * (execve): the command keeps our pid, terminal and process group, receives every signal
 * itself and ends with its own exit status, so there is nothing to forward, wait for or
 * report. Before the call, every signal Deno may handle is put back to its default, SIGPIPE
 * too (the Rust runtime ignores it; that would outlive the exec), while a signal ignored since
 * we were started stays ignored (`nohup`), and none is blocked; if execve fails,
 * both are restored and the caller starts a child instead. Undefined from
 * {@link libcReplacer}: no FFI permission, no known C library, or Windows.
 */
import { cCommand, defaultSignalNumbers, openLibc, SIGSET_BYTES } from "./libc.ts";

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
// buffer parameter costs more to build than a pointer (0.5 against 0.2 ms, measured).
const SYMBOLS = {
  access: { parameters: ["pointer", "i32"], result: "i32" },
  execve: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  pthread_sigmask: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** access()'s "does it exist" mode. */
const F_OK = 0;
/** signal()'s "ignore" handler; SIGPIPE's number (the same on Linux and macOS). */
const SIG_IGN = 1n;
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
  const previous: [number, Deno.PointerValue][] = [];
  const oldMask = new Uint8Array(SIGSET_BYTES);
  const how = sigSetMask(os);
  for (const n of defaultSignalNumbers(os)) {
    const handler = libc.signal(n, null);
    previous.push([n, handler]);
    // A signal ignored since we were started (nohup, a shell's background job) stays ignored,
    // as execve itself would keep it; only SIGPIPE, which Rust ignores in every Deno process,
    // goes back to its default.
    if (n !== SIGPIPE && Deno.UnsafePointer.value(handler) === SIG_IGN) {
      libc.signal(n, Deno.UnsafePointer.create(SIG_IGN));
    }
  }
  const of = (buffer: BufferSource) => Deno.UnsafePointer.of(buffer);
  const emptyMask = new Uint8Array(SIGSET_BYTES);
  libc.pthread_sigmask(how, of(emptyMask), of(oldMask));
  libc.execve(of(command.path), of(command.argv), of(command.envp));
  // Still here: execve failed and changed nothing; neither did we, once this is undone
  // (signal() puts the handlers back with its own flags: they still run).
  libc.pthread_sigmask(how, of(oldMask), null);
  for (const [n, handler] of previous) libc.signal(n, handler);
}
