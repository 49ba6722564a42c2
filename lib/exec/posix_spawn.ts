/**
 * Starts exec's child with the C library's posix_spawn, through Deno's FFI. `Deno.Command` is the
 * portable way, but its first use in a process loads Deno's process module and, with it, the
 * WHATWG streams implementation (ext:deno_process/40_process.js, ext:deno_web/06_streams.js and
 * four more): 25-35 ms measured on this machine, paid by every `aws-vault exec`, which is run in
 * front of every command. The child inherits our standard streams, as exec's child does; every
 * signal starts at its default action, none blocked (Rust ignores SIGPIPE in Deno; a child must
 * not inherit that). Undefined from {@link libcSpawner} means "use Deno.Command" (no FFI
 * permission, no known C library, Windows).
 */
import { cCommand, openLibc, SIGSET_BYTES } from "./libc.ts";
import { signalNumber } from "./signal_numbers.ts";

/**
 * Signals that may be ignored or handled in Deno and must start at their default in the child
 * (POSIX_SPAWN_SETSIGDEF).
 */
export const DEFAULT_SIGNALS: Deno.Signal[] = [
  "SIGHUP",
  "SIGINT",
  "SIGQUIT",
  "SIGPIPE",
  "SIGALRM",
  "SIGTERM",
  "SIGUSR1",
  "SIGUSR2",
  "SIGCHLD",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGXCPU",
  "SIGXFSZ",
  "SIGVTALRM",
  "SIGPROF",
  "SIGWINCH",
  "SIGIO",
  "SIGSYS",
];

/** The numbers of DEFAULT_SIGNALS on this OS. */
export function defaultSignalNumbers(os: typeof Deno.build.os): number[] {
  const numbers: number[] = [];
  for (const name of DEFAULT_SIGNALS) {
    const n = signalNumber(name, os);
    if (n !== undefined) numbers.push(n);
  }
  return numbers;
}

/** A started child. */
export interface SpawnedChild {
  pid: number;
  /** How it ended: an exit code, or the number of the signal that killed it. */
  status: Promise<{ code: number; signal?: number }>;
}

/** Starts `path` (absolute, or relative to the working directory) with argv and env. */
export type Spawner = (
  path: string,
  argv: string[],
  env: Record<string, string>,
) => SpawnedChild;

/** The spawn error of an errno, shaped as Deno's own: NotFound, PermissionDenied or Error. */
function spawnErrno(errno: number, path: string): Error {
  if (errno === ENOENT || errno === ENOTDIR) return new Deno.errors.NotFound(`${path}: not found`);
  if (errno === EACCES) return new Deno.errors.PermissionDenied(`${path}: permission denied`);
  return new Error(`posix_spawn failed with errno ${errno}`);
}

const ENOENT = 2;
const EACCES = 13;
const ENOTDIR = 20;
// The same on Linux and macOS.
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
/** Room for posix_spawnattr_t (glibc: 336 bytes; macOS: a pointer). */
const ATTR_BYTES = 1024;
const SYMBOLS = {
  posix_spawn: {
    parameters: ["buffer", "buffer", "pointer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  // Waits on a thread of its own, so signals keep reaching our listeners meanwhile.
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32", nonblocking: true },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** A spawner over the C library, or undefined where Deno.Command must do (see the module doc). */
export function libcSpawner(os: typeof Deno.build.os = Deno.build.os): Spawner | undefined {
  // Without it (no FFI permission, another C library), Deno.Command starts the child.
  const libc = openLibc(os, SYMBOLS);
  return libc && ((file, argv, env) => spawn(libc, os, file, argv, env));
}

function spawn(
  libc: Libc,
  os: typeof Deno.build.os,
  file: string,
  argv: string[],
  env: Record<string, string>,
): SpawnedChild {
  const attr = new Uint8Array(ATTR_BYTES);
  check(libc.posix_spawnattr_init(attr), file);
  try {
    // sigset_t is a bit array on both (Linux: unsigned longs, macOS: one uint32), and Deno
    // runs only on little-endian machines: signal n is bit n-1. (Each FFI symbol costs ~0.4 ms
    // to bind, so sigemptyset/sigaddset are not called for this.)
    const defaults = new Uint8Array(SIGSET_BYTES);
    const mask = new Uint8Array(SIGSET_BYTES); // empty: nothing blocked
    for (const n of defaultSignalNumbers(os)) defaults[(n - 1) >> 3] |= 1 << ((n - 1) & 7);
    check(libc.posix_spawnattr_setsigdefault(attr, defaults), file);
    check(libc.posix_spawnattr_setsigmask(attr, mask), file);
    check(
      libc.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK),
      file,
    );
    const command = cCommand(file, argv, env);
    const pid = new Int32Array(1);
    // posix_spawn returns the error number itself (errno is not touched).
    const err = libc.posix_spawn(pid, command.path, null, attr, command.argv, command.envp);
    if (err !== 0) throw spawnErrno(err, file);
    return { pid: pid[0], status: waitFor(libc, pid[0]) };
  } finally {
    libc.posix_spawnattr_destroy(attr);
  }
}

async function waitFor(libc: Libc, pid: number): Promise<{ code: number; signal?: number }> {
  const status = new Int32Array(1);
  for (let failures = 0; (await libc.waitpid(pid, status, 0)) !== pid;) {
    // -1: interrupted (Deno's handlers restart it, but a few tries cost nothing) or reaped by
    // someone else, which nothing in this program does.
    if (++failures > 3) throw new Error(`lost track of child process ${pid}`);
  }
  const s = status[0];
  if ((s & 0x7f) === 0) return { code: (s >> 8) & 0xff };
  return { code: 128 + (s & 0x7f), signal: s & 0x7f };
}

function check(result: number, file: string): void {
  if (result !== 0) throw new Error(`cannot start ${file}: posix_spawn attributes (${result})`);
}
