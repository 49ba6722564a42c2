/**
 * aws-vault: a vault for AWS credentials. Entry point: runs the command line and turns every
 * error into one line on stderr and an exit code (a stack trace only with --debug).
 */
import { errorLine, exitCodeOf, UserError } from "./lib/errors.ts";
import { DebugLogger } from "./lib/logger.ts";
import { denoRuntime } from "./lib/runtime.ts";
import { runCli } from "./lib/cli/mod.ts";

/** Runs aws-vault with these arguments and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const runtime = denoRuntime();
  const log = new DebugLogger(runtime.stderr);
  try {
    return await runCli(args, runtime, log);
  } catch (err) {
    runtime.stderr(`aws-vault: error: ${errorLine(err)}\n`);
    // lib/cli/mod.ts turns debug output on once the command line is parsed with --debug (an
    // argument of exec's child is not ours); then a bug's stack trace is shown too.
    if (log.debugEnabled && err instanceof Error && !(err instanceof UserError && !err.cause)) {
      runtime.stderr(`${err.stack ?? ""}\n`);
    }
    return exitCodeOf(err);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
