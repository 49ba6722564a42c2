/**
 * Replaces this process with exec's command, as aws-vault does in its environment mode
 * (execve): the command keeps our pid, terminal and process group, receives every signal
 * itself and ends with its own exit status, so there is nothing to forward, wait for or
 * report. execve itself puts every signal Deno handles back to its default and keeps the ignored
 * ones ignored (`nohup`); before the call SIGPIPE, which the Rust runtime ignores in every Deno
 * process, is put back to its default too, and no signal is left blocked. If execve fails, both
 * are restored and the caller starts a child instead. Undefined from {@link libcReplacer}: no
 * FFI permission, no known C library, an unknown Linux architecture, or Windows.
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

/** A replacer over the C library, or undefined where none can be (see the module doc). */
export function libcReplacer(
  os: typeof Deno.build.os = Deno.build.os,
  arch: typeof Deno.build.arch = Deno.build.arch,
): Replacer | undefined {
  if (os === "linux") return linuxReplacer(arch);
  if (os === "darwin") return darwinReplacer();
  return undefined;
}

/** access()'s "does it exist" mode. */
const F_OK = 0;
/** SIGPIPE's number (the same on Linux and macOS). */
const SIGPIPE = 13;

// Linux: one symbol, syscall(2), makes the four calls (the C library's functions for them are
// thin wrappers of these). Deno builds each symbol's call stub when the library is opened, ~0.2
// ms each on a 2-core test VM: one stub instead of four. Its arguments are 64-bit integers,
// pointers as addresses (a buffer parameter's stub costs more: 0.5 against 0.2 ms). Not
// nonblocking: no stub then, but a call hops to another thread and back (0.5 ms for signal()).
const LINUX_SYMBOLS = {
  syscall: { parameters: ["i64", "i64", "i64", "i64", "i64"], result: "i64" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The system call numbers used, per architecture (asm/unistd.h). */
interface LinuxCalls {
  faccessat: number;
  rt_sigaction: number;
  rt_sigprocmask: number;
  execve: number;
}

const LINUX_CALLS: Partial<Record<typeof Deno.build.arch, LinuxCalls>> = {
  x86_64: { faccessat: 269, rt_sigaction: 13, rt_sigprocmask: 14, execve: 59 },
  aarch64: { faccessat: 48, rt_sigaction: 134, rt_sigprocmask: 135, execve: 221 },
};

/** faccessat's "relative to the working directory". */
const AT_FDCWD = -100;
/** rt_sigprocmask's "set the mask to". */
const LINUX_SIG_SETMASK = 2;
/** The kernel's sigset_t (64 signals): rt_sigaction and rt_sigprocmask take no other size. */
const KERNEL_SIGSET_BYTES = 8;
/** Room for the kernel's struct sigaction (32 bytes on x86_64 and arm64). */
const KERNEL_SIGACTION_BYTES = 64;

function linuxReplacer(arch: typeof Deno.build.arch): Replacer | undefined {
  const calls = LINUX_CALLS[arch];
  const libc = calls && openLibc("linux", LINUX_SYMBOLS);
  if (!calls || !libc) return undefined;
  /** syscall(2) with up to four arguments; -1 when the call failed. */
  type Arg = number | bigint;
  const call = (nr: number, a: Arg, b: Arg = 0, c: Arg = 0, d: Arg = 0): number =>
    Number(libc.syscall(BigInt(nr), BigInt(a), BigInt(b), BigInt(c), BigInt(d)));
  return {
    mayExist: (path) => {
      if (path.includes("\0")) return true; // stat says what it is
      const text = new TextEncoder().encode(`${path}\0`);
      const found = call(calls.faccessat, AT_FDCWD, addressOf(text), F_OK) === 0;
      keepAlive(text);
      return found;
    },
    replace: (file, argv, env) => {
      // Everything that can throw (a NUL in a string) happens before anything is changed.
      const command = cCommand(file, argv, env);
      // SIG_DFL with no flags and an empty mask: the kernel's struct sigaction all zeros.
      const defaultAction = new Uint8Array(KERNEL_SIGACTION_BYTES);
      const emptyMask = new Uint8Array(KERNEL_SIGSET_BYTES);
      const oldAction = new Uint8Array(KERNEL_SIGACTION_BYTES);
      const oldMask = new Uint8Array(KERNEL_SIGSET_BYTES);
      const [sigaction, sigprocmask] = [calls.rt_sigaction, calls.rt_sigprocmask];
      call(sigaction, SIGPIPE, addressOf(defaultAction), addressOf(oldAction), KERNEL_SIGSET_BYTES);
      call(
        sigprocmask,
        LINUX_SIG_SETMASK,
        addressOf(emptyMask),
        addressOf(oldMask),
        KERNEL_SIGSET_BYTES,
      );
      call(calls.execve, addressOf(command.path), addressOf(command.argv), addressOf(command.envp));
      // Still here: execve failed and changed nothing; neither did we, once this is undone (the
      // kernel is handed back the very structs it filled in).
      call(sigprocmask, LINUX_SIG_SETMASK, addressOf(oldMask), 0, KERNEL_SIGSET_BYTES);
      call(sigaction, SIGPIPE, addressOf(oldAction), 0, KERNEL_SIGSET_BYTES);
      keepAlive(command, defaultAction, emptyMask, oldAction, oldMask);
    },
  };
}

/** Where keepAlive puts what it is given. */
const KEPT: { values?: unknown[] } = {};

/**
 * Holds these values until here: the calls above take addresses, which keep no buffer alive, and
 * each call allocates (its BigInt arguments), so a collection could otherwise free a buffer the
 * kernel is about to read.
 */
function keepAlive(...values: unknown[]): void {
  KEPT.values = values;
}

function addressOf(buffer: BufferSource): number | bigint {
  return Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer));
}

// macOS: the C library's own functions (its syscall(2) is deprecated), pointers as pointers.
const DARWIN_SYMBOLS = {
  access: { parameters: ["pointer", "i32"], result: "i32" },
  execve: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  pthread_sigmask: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** pthread_sigmask's `how` for "set the mask to" on macOS. */
const DARWIN_SIG_SETMASK = 3;

function darwinReplacer(): Replacer | undefined {
  const libc = openLibc("darwin", DARWIN_SYMBOLS);
  if (!libc) return undefined;
  const of = (buffer: BufferSource) => Deno.UnsafePointer.of(buffer);
  return {
    mayExist: (path) => {
      if (path.includes("\0")) return true; // stat says what it is
      const text = new TextEncoder().encode(`${path}\0`);
      const found = libc.access(of(text), F_OK) === 0;
      keepAlive(text);
      return found;
    },
    replace: (file, argv, env) => {
      // Everything that can throw (a NUL in a string) happens before anything is changed.
      const command = cCommand(file, argv, env);
      const oldMask = new Uint8Array(SIGSET_BYTES);
      const pipe = libc.signal(SIGPIPE, null);
      const emptyMask = new Uint8Array(SIGSET_BYTES);
      libc.pthread_sigmask(DARWIN_SIG_SETMASK, of(emptyMask), of(oldMask));
      libc.execve(of(command.path), of(command.argv), of(command.envp));
      // Still here: execve failed and changed nothing; neither did we, once this is undone.
      libc.pthread_sigmask(DARWIN_SIG_SETMASK, of(oldMask), null);
      libc.signal(SIGPIPE, pipe);
      keepAlive(command, emptyMask, oldMask);
    },
  };
}
