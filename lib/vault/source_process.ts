/**
 * Runs a command from the config (`credential_process`, `web_identity_token_process`) the way
 * aws-vault does: through `/bin/sh -c` (`cmd.exe /C` on Windows), stdin and stderr inherited so
 * it can prompt, stdout captured (bounded, unlike lib/process's runProgram) and returned as
 * printed. Its environment never holds the vault passphrase.
 */
import { UserError } from "../errors.ts";
import { withoutPrivateVariables } from "../process/env.ts";
import { spawnFailure } from "../process/spawn.ts";
import { concatBytes } from "../encoding.ts";

/** Options of one run. */
export interface SourceProcessOptions {
  /** What to call the command in errors, e.g. `profile x: credential_process`. */
  label: string;
  /** The child's whole environment. */
  env: Record<string, string>;
  /** A reply larger than this is refused. */
  maxBytes: number;
  os?: typeof Deno.build.os;
}

/** Runs `command`; returns its stdout. A failure is one UserError line (stdout never in it). */
export async function runSourceProcess(
  command: string,
  options: SourceProcessOptions,
): Promise<string> {
  const windows = (options.os ?? Deno.build.os) === "windows";
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(windows ? "cmd.exe" : "/bin/sh", {
      args: windows ? ["/C", command] : ["-c", command],
      env: withoutPrivateVariables(options.env),
      clearEnv: true,
      stdin: "inherit",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch (err) {
    throw new UserError(`${options.label}: cannot start its shell (${spawnFailure(err)})`);
  }
  const bytes = await readBounded(child.stdout, options.maxBytes);
  if (bytes === undefined) {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    throw new UserError(`${options.label} printed more than ${options.maxBytes} bytes`);
  }
  const status = await child.status;
  if (!status.success) {
    const how = status.signal
      ? `was killed by ${status.signal}`
      : `exited with status ${status.code}`;
    throw new UserError(`${options.label} ${how}`);
  }
  return new TextDecoder().decode(bytes);
}

/** Reads a stream; undefined when it holds more than `max` bytes. */
export async function readBounded(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return concatBytes(chunks);
}
