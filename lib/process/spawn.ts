/**
 * The one way we start helper programs (backend tools, prompt dialogs, ykman, mfa_process): the
 * environment is given whole and never holds the vault passphrase; secrets travel on stdin,
 * never in argv; a program that cannot be started is a SpawnError with one plain reason.
 */
import { withoutPrivateVariables } from "./env.ts";
import { after } from "../timer.ts";
import { concatBytes } from "../encoding.ts";

/** How a program run is wired. */
export interface RunProgramOptions {
  /**
   * The program's whole environment (typically the runtime's); PRIVATE_VARIABLES are removed.
   * Nothing else of ours is inherited.
   */
  env: Record<string, string>;
  /** Bytes or text for stdin (closed after), "inherit" for ours, or none (/dev/null). */
  stdin?: Uint8Array | string | "inherit";
  /** Capture stderr (default) or pass ours on (a dialog or ykman talks to the user there). */
  stderr?: "piped" | "inherit";
  /**
   * Deadline in milliseconds: a program still running then is killed (SIGKILL, it may ignore
   * anything gentler) and a ProgramLimitError is thrown. Default: none.
   */
  timeoutMs?: number;
  /**
   * Most bytes read from stdout (and from captured stderr): a program that prints more is killed
   * and a ProgramLimitError is thrown, so a runaway never fills our memory. Default: no limit.
   */
  maxOutputBytes?: number;
}

/** How a program ended. */
export interface ProgramResult {
  code: number;
  /** The signal that killed it, if one did. */
  signal: Deno.Signal | null;
  stdout: Uint8Array;
  /** Standard error as text ("" when it was not captured). */
  stderr: string;
}

/** Why a program could not be started. */
export type SpawnFailure = "not found" | "permission denied" | "cannot be run";

/** A program that could not be started at all (it never ran). */
export class SpawnError extends Error {
  /** The program as it was asked for. */
  readonly program: string;
  readonly failure: SpawnFailure;
  constructor(program: string, failure: SpawnFailure, options: { cause?: unknown } = {}) {
    super(`${program}: ${failure}`, options);
    this.name = "SpawnError";
    this.program = program;
    this.failure = failure;
  }
}

/** A program that ran but was stopped: past its deadline or printing too much. */
export class ProgramLimitError extends Error {
  readonly program: string;
  readonly limit: "timeout" | "output";
  constructor(program: string, limit: "timeout" | "output", detail: string) {
    super(`${program}: ${detail}`);
    this.name = "ProgramLimitError";
    this.program = program;
    this.limit = limit;
  }
}

/** The one mapping of a spawn exception to a reason. */
export function spawnFailure(err: unknown): SpawnFailure {
  if (err instanceof Deno.errors.NotFound) return "not found";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  return "cannot be run";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs `program args...` to the end and returns how it ended, whatever its exit code. Throws a
 * SpawnError only when it cannot be started.
 */
export async function runProgram(
  program: string,
  args: string[],
  options: RunProgramOptions,
): Promise<ProgramResult> {
  const { stdin } = options;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      env: withoutPrivateVariables(options.env),
      clearEnv: true,
      stdin: stdin === undefined ? "null" : stdin === "inherit" ? "inherit" : "piped",
      stdout: "piped",
      stderr: options.stderr ?? "piped",
    }).spawn();
  } catch (err) {
    throw new SpawnError(program, spawnFailure(err), { cause: err });
  }
  const writeStdin = async (): Promise<void> => {
    if (stdin === undefined || stdin === "inherit") return;
    const data = typeof stdin === "string" ? encoder.encode(stdin) : stdin;
    const writer = child.stdin.getWriter();
    // A program that exits early closes the pipe; its exit code and stderr then tell the story.
    await writer.write(data).catch(() => {});
    await writer.close().catch(() => {});
  };
  // Read while writing: a program that answers before it has read all its input would otherwise
  // block on a full output pipe while we block on its full input pipe.
  let stopped: ProgramLimitError | undefined;
  const abandon = new AbortController();
  const stop = (limit: "timeout" | "output", detail: string): void => {
    if (stopped) return;
    stopped = new ProgramLimitError(program, limit, detail);
    // Stop reading too: a grandchild may hold the pipes open after the program is gone.
    abandon.abort();
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  };
  const max = options.maxOutputBytes;
  const tooMuch = () => stop("output", `printed more than ${max} bytes`);
  const cancelTimer = options.timeoutMs === undefined
    ? undefined
    : after(options.timeoutMs, () => stop("timeout", `no answer within ${options.timeoutMs} ms`));
  try {
    const [status, stdout, stderr] = await Promise.all([
      child.status,
      readAll(child.stdout, max, tooMuch, abandon.signal),
      options.stderr === "inherit"
        ? Promise.resolve(new Uint8Array())
        : readAll(child.stderr, max, tooMuch, abandon.signal),
      writeStdin(),
    ]);
    if (stopped) throw stopped;
    return {
      code: status.code,
      signal: status.signal,
      stdout,
      stderr: decoder.decode(stderr),
    };
  } finally {
    cancelTimer?.();
  }
}

/** Reads a stream to its end (or until `signal` aborts); past `max` bytes, calls `over`. */
async function readAll(
  stream: ReadableStream<Uint8Array>,
  max: number | undefined,
  over: () => void,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done || value === undefined || signal.aborted) break;
      if (max !== undefined && size + value.length > max) {
        over();
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  } finally {
    signal.removeEventListener("abort", cancel);
    if (!signal.aborted) await reader.cancel().catch(() => {});
  }
  return concatBytes(chunks);
}
