/**
 * Runs the helper tools of the shell-out backends (pass, secret-tool, busctl, keyctl, security).
 * Secrets travel on stdin, never in argv; failures become one-line KeyringErrors that name the
 * tool and quote the tool's own message (tools never echo their stdin back).
 */
import { KeyringError } from "./keyring.ts";

/** The outcome of one tool run. */
export interface ToolResult {
  code: number;
  stdout: Uint8Array;
  /** Standard error as text. */
  stderr: string;
}

/** Options for runTool. */
export interface RunToolOptions {
  /** Bytes (or text) written to the tool's stdin; stdin is closed afterwards. */
  stdin?: Uint8Array | string;
  /** Extra environment variables (the rest is inherited). */
  env?: Record<string, string>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Runs `cmd args...` and returns its result whatever the exit code. Throws a KeyringError only
 * when the tool cannot be started (not installed, not executable).
 */
export async function runTool(
  cmd: string,
  args: string[],
  options: RunToolOptions = {},
): Promise<ToolResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      env: options.env,
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new KeyringError(`'${cmd}' is not installed (not found on PATH)`);
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new KeyringError(`'${cmd}' cannot be run: permission denied`);
    }
    throw new KeyringError(`'${cmd}' cannot be run: ${oneLine(String(err))}`);
  }
  const writeStdin = async (): Promise<void> => {
    if (options.stdin === undefined) return;
    const data = typeof options.stdin === "string" ? encoder.encode(options.stdin) : options.stdin;
    const writer = child.stdin.getWriter();
    // A tool that exits early closes the pipe; its exit code and stderr then tell the story.
    await writer.write(data).catch(() => {});
    await writer.close().catch(() => {});
  };
  // Read while writing: a tool that answers before it has read all its input would otherwise
  // block on a full output pipe while we block on its full input pipe.
  const [out] = await Promise.all([child.output(), writeStdin()]);
  return { code: out.code, stdout: out.stdout, stderr: decoder.decode(out.stderr) };
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
  const detail = oneLine(result.stderr) || `exit code ${result.code}`;
  return new KeyringError(`${what}: ${cmd}: ${detail}`);
}

/** The tool's stdout as text. */
export function stdoutText(result: ToolResult): string {
  return decoder.decode(result.stdout);
}

/** Whether an executable of this name is on PATH (or, with a slash, exists and is executable). */
export async function findExecutable(
  cmd: string,
  path: string | undefined,
): Promise<string | undefined> {
  const candidates = cmd.includes("/")
    ? [cmd]
    : (path ?? "").split(":").filter((d) => d !== "").map((d) => `${d}/${cmd}`);
  for (const candidate of candidates) {
    try {
      const info = await Deno.stat(candidate);
      if (info.isFile && info.mode !== null && (info.mode & 0o111) !== 0) return candidate;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}

/** A tool's stderr as one line (tools spread one message over lines), at most 300 characters. */
export function oneLine(text: string): string {
  const line = text.split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ");
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
