/**
 * Runs the helper tools of the shell-out backends (pass, passage, keyctl, security).
 * Secrets travel on stdin, never in argv; failures become one-line KeyringErrors that name the
 * tool and quote the tool's own message (tools never echo their stdin back).
 */
import {
  ProgramLimitError,
  type ProgramResult,
  runProgram,
  SpawnError,
} from "../lib/process/spawn.ts";
import { KeyringError } from "./keyring.ts";
import { oneLine } from "../lib/encoding.ts";

const decoder = new TextDecoder();

/** The outcome of one tool run. */
export type ToolResult = ProgramResult;

/** Options for runTool. */
export interface RunToolOptions {
  /** Bytes (or text) written to the tool's stdin; stdin is closed afterwards. */
  stdin?: Uint8Array | string;
  /** Extra environment variables (the rest is ours, without the vault passphrase). */
  env?: Record<string, string>;
  /** The tool's whole environment instead of ours plus `env` (PRIVATE_VARIABLES still go). */
  baseEnv?: Record<string, string>;
  /** Deadline (ms): a tool still running is killed and a KeyringError names the wait. */
  timeoutMs?: number;
  /** Most bytes of output accepted; a tool printing more is killed (KeyringError). */
  maxOutputBytes?: number;
}

/**
 * Runs `cmd args...` and returns its result whatever the exit code. Throws a KeyringError only
 * when the tool cannot be started (not installed, not executable).
 */
export async function runTool(
  cmd: string,
  args: string[],
  options: RunToolOptions = {},
): Promise<ToolResult> {
  try {
    return await runProgram(cmd, args, {
      env: { ...(options.baseEnv ?? Deno.env.toObject()), ...options.env },
      stdin: options.stdin,
      timeoutMs: options.timeoutMs,
      maxOutputBytes: options.maxOutputBytes,
    });
  } catch (err) {
    if (err instanceof ProgramLimitError) {
      const why = err.limit === "timeout"
        ? `did not finish within ${formatMs(options.timeoutMs ?? 0)} (stopped)`
        : `printed more than ${options.maxOutputBytes} bytes (stopped)`;
      throw new KeyringError(`'${cmd}' ${why}`, { cause: err });
    }
    if (!(err instanceof SpawnError)) throw err;
    const why = err.failure === "not found"
      ? "is not installed (not found on PATH)"
      : err.failure === "permission denied"
      ? "cannot be run: permission denied"
      : `cannot be run: ${toolMessage(String(err.cause))}`;
    throw new KeyringError(`'${cmd}' ${why}`, { cause: err });
  }
}

/** Runs a tool and throws a KeyringError (`<what>: <tool's message>`) unless it exits 0. */
export async function runToolOk(
  cmd: string,
  args: string[],
  what: string,
  options: RunToolOptions = {},
): Promise<ToolResult> {
  const result = await runTool(cmd, args, options);
  if (result.code !== 0) throw toolFailure(cmd, what, result);
  return result;
}

/** The KeyringError for a failed tool run. */
export function toolFailure(cmd: string, what: string, result: ToolResult): KeyringError {
  const detail = toolMessage(result.stderr) || `exit code ${result.code}`;
  return new KeyringError(`${what}: ${cmd}: ${detail}`);
}

/** The tool's stdout as text. */
export function stdoutText(result: ToolResult): string {
  return decoder.decode(result.stdout);
}

/** A tool's stderr as one line (tools spread one message over lines), at most 300 characters. */
function toolMessage(text: string): string {
  return oneLine(text, 300);
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
