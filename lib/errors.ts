/**
 * Errors that reach the user. main.ts prints `aws-vault: <message>` on one line and exits with
 * the error's exit code; any other error is a bug and is reported the same way (stack trace only
 * with --debug).
 */
import { escapeControl, oneLine } from "./encoding.ts";

/** The longest error line printed (a message can quote a user's 100 KB argument). */
const MAX_LINE = 2000;

/** An error the user can act on: bad input, missing profile, wrong passphrase. Exit code 1. */
export class UserError extends Error {
  /** Process exit code for this error. */
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "UserError";
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Wrong use of the command line: unknown flag, bad flag value, missing argument. Exit code 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
    this.name = "UsageError";
  }
}

/**
 * A command or flag whose implementation has not landed yet. Exit code 1: the command line was
 * right (scripts can tell it from a usage error, exit code 2).
 */
export class NotImplementedError extends UserError {
  constructor(what: string) {
    super(`${what} is not implemented yet in this version`, { exitCode: 1 });
    this.name = "NotImplementedError";
  }
}

/**
 * The single line printed for an error, without the `aws-vault: ` prefix: control characters
 * escaped (a profile name or a tool's output quoted in a message cannot drive the terminal) and
 * cut to MAX_LINE characters.
 */
export function errorLine(err: unknown): string {
  const line = oneLine(err instanceof Error ? err.message : String(err), MAX_LINE);
  return escapeControl(line === "" && err instanceof Error ? err.name : line);
}

/** The exit code for an error: its own for UserError, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  return err instanceof UserError ? err.exitCode : 1;
}
