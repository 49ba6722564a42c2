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

/** Replaces the process with `path` (argv, env); returns only when that failed. */
export type Replacer = (path: string, argv: string[], env: Record<string, string>) => void;

const SYMBOLS = {
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

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
  return libc && ((file, argv, env) => replace(libc, os, file, argv, env));
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
  libc.pthread_sigmask(how, new Uint8Array(SIGSET_BYTES), oldMask);
  libc.execve(command.path, command.argv, command.envp);
  // Still here: execve failed and changed nothing; neither did we, once this is undone
  // (signal() puts the handlers back with its own flags: they still run).
  libc.pthread_sigmask(how, oldMask, null);
  for (const [n, handler] of previous) libc.signal(n, handler);
}
