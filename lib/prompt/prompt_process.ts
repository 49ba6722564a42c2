/**
 * Runs an MFA code source (a GUI dialog, ykman, an `mfa_process` command) and returns what it
 * printed. The code travels through the child's stdout only: never argv, never a log line.
 */
import { UserError } from "../errors.ts";
import { type ProgramResult, runProgram, SpawnError } from "../process/spawn.ts";

/** Options for running a prompt process. */
export interface PromptProcessOptions {
  /** The child's environment (defaults to ours); never with the vault passphrase. */
  env?: Record<string, string>;
  /**
   * Give the child the controlling terminal as stdin and stderr when there is one, so messages
   * such as "Touch your YubiKey" are seen, and a PIN can be typed, even when our stdio is
   * captured (credential_process). As ByteNess's aws-vault does for ykman and mfa_process.
   */
  attachTty?: boolean;
  /** What to call the source in errors, e.g. `zenity` or `mfa_process`. */
  label: string;
  /** The operating system (the runtime's). */
  os: typeof Deno.build.os;
}

// Runs "$@" with stdin and stderr on /dev/tty when the terminal can be opened, else as they are.
const ON_TTY =
  'if (: <>/dev/tty) 2>/dev/null; then exec "$@" </dev/tty 2>/dev/tty; else exec "$@"; fi';

/** Runs `argv` and returns its trimmed stdout; a failure or empty output is a UserError. */
export async function runPromptProcess(
  argv: string[],
  options: PromptProcessOptions,
): Promise<string> {
  const wrapped = options.attachTty && options.os !== "windows"
    ? ["/bin/sh", "-c", ON_TTY, "sh", ...argv]
    : argv;
  let out: ProgramResult;
  try {
    out = await runProgram(wrapped[0], wrapped.slice(1), {
      env: options.env ?? Deno.env.toObject(),
      stdin: "inherit",
      stderr: "inherit",
    });
  } catch (err) {
    if (!(err instanceof SpawnError)) throw err;
    const why = err.failure === "not found" ? "command not found" : err.failure;
    throw new UserError(`MFA prompt failed: ${options.label}: ${why}`);
  }
  if (out.code !== 0 || out.signal) {
    const how = out.signal ? `was killed by ${out.signal}` : `exited with status ${out.code}`;
    throw new UserError(`MFA prompt cancelled: ${options.label} ${how}`);
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  if (text === "") throw new UserError(`MFA prompt cancelled: ${options.label} printed no code`);
  return text;
}
