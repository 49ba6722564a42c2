/**
 * What exec's two ways of starting a command through the C library share (lib/exec/posix_spawn.ts
 * starts a child; lib/exec/execve.ts replaces this process): where the library is, whether FFI
 * is allowed, C strings and pointer arrays.
 */
/** Room for a sigset_t (glibc: 128 bytes; macOS: 4). */
export const SIGSET_BYTES = 256;

/** The C library of this OS, if we know its name. */
function libcPath(os: typeof Deno.build.os): string | undefined {
  if (os === "linux") return "libc.so.6";
  if (os === "darwin") return "/usr/lib/libSystem.B.dylib";
  return undefined;
}

/**
 * Whether FFI may be tried. Only a terminal can answer a permission prompt: with one, FFI is
 * asked about first (without a prompt; denied means "do without"); without one, Deno cannot
 * prompt and dlopen fails at once where FFI is not granted, so the query (~1 ms cold) is skipped.
 */
function ffiAllowed(): boolean {
  if (typeof Deno.dlopen !== "function") return false;
  if (!Deno.stdin.isTerminal()) return true;
  return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
}

/**
 * These symbols of this OS's C library; undefined without FFI permission (never a prompt for
 * it), on an OS whose C library we do not know, or when it does not open (musl).
 */
export function openLibc<S extends Deno.ForeignLibraryInterface>(
  os: typeof Deno.build.os,
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] | undefined {
  const path = libcPath(os);
  if (!path || !ffiAllowed()) return undefined;
  try {
    return Deno.dlopen(path, symbols).symbols;
  } catch {
    return undefined;
  }
}

/** A command's path, argv and environment as C strings and NULL-terminated pointer arrays. */
export interface CCommand {
  path: Uint8Array<ArrayBuffer>;
  argv: BigUint64Array<ArrayBuffer>;
  envp: BigUint64Array<ArrayBuffer>;
  /** The strings the arrays point into: they must stay reachable until the call returns. */
  strings: Uint8Array<ArrayBuffer>[];
}

/**
 * The C form of `path argv` with `env`; a NUL in any of it is a TypeError. All strings are one
 * buffer (one encoding, one pointer: a command can carry hundreds of variables).
 */
export function cCommand(path: string, argv: string[], env: Record<string, string>): CCommand {
  const texts = [path, ...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  if (texts.some((t) => t.includes("\0"))) {
    throw new TypeError("argument or environment contains NUL");
  }
  const block = new TextEncoder().encode(`${texts.join("\0")}\0`);
  const base = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(block)));
  // Each string starts after the NUL that ends the one before it.
  const starts: bigint[] = [];
  for (let at = 0; at < block.length; at = block.indexOf(0, at) + 1) starts.push(base + BigInt(at));
  return {
    path: block.subarray(0, block.indexOf(0) + 1),
    argv: pointerArray(starts.slice(1, 1 + argv.length)),
    envp: pointerArray(starts.slice(1 + argv.length)),
    strings: [block],
  };
}

/** A NULL-terminated array of these pointers. */
function pointerArray(pointers: bigint[]): BigUint64Array<ArrayBuffer> {
  const array = new BigUint64Array(pointers.length + 1);
  array.set(pointers);
  return array;
}
