/**
 * Runs an MFA code source (a GUI dialog, ykman, an `mfa_process` command) and returns what it
 * printed. The code travels through the child's stdout only: never argv, never a log line.
 */
import { UserError } from "../errors.ts";

/** Options for running a prompt process. */
export interface PromptProcessOptions {
  /** The child's environment (defaults to ours). */
  env?: Record<string, string>;
  /**
   * Send the child's stderr to the controlling terminal when there is one, so messages such as
   * "Touch your YubiKey" are seen even when our stderr is captured (credential_process).
   */
  stderrToTty?: boolean;
  /** What to call the source in errors, e.g. `zenity` or `mfa_process`. */
  label: string;
}

// Runs "$@" with stderr on /dev/tty when the terminal can be opened, else with stderr as is.
const TTY_STDERR = 'if (: >/dev/tty) 2>/dev/null; then exec "$@" 2>/dev/tty; else exec "$@"; fi';

/** Runs `argv` and returns its trimmed stdout; a failure or empty output is a UserError. */
export async function runPromptProcess(
  argv: string[],
  options: PromptProcessOptions,
): Promise<string> {
  const wrapped = options.stderrToTty && Deno.build.os !== "windows"
    ? ["/bin/sh", "-c", TTY_STDERR, "sh", ...argv]
    : argv;
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(wrapped[0], {
      args: wrapped.slice(1),
      env: options.env,
      clearEnv: options.env !== undefined,
      stdin: "inherit",
      stdout: "piped",
      stderr: "inherit",
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new UserError(`MFA prompt failed: ${options.label}: command not found`);
    }
    throw new UserError(`MFA prompt failed: ${options.label}: ${(err as Error).message}`);
  }
  if (!out.success) {
    const how = out.signal ? `was killed by ${out.signal}` : `exited with status ${out.code}`;
    throw new UserError(`MFA prompt cancelled: ${options.label} ${how}`);
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  if (text === "") throw new UserError(`MFA prompt cancelled: ${options.label} printed no code`);
  return text;
}
