/**
 * aws-vault: a vault for AWS credentials. Entry point: runs the command line and turns every
 * error into one line on stderr and an exit code (a stack trace only with --debug).
 */
import { errorLine, exitCodeOf, UserError } from "./lib/errors.ts";
import { DebugLogger } from "./lib/logger.ts";
import { denoRuntime } from "./lib/runtime.ts";

/** Runs aws-vault with these arguments and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const runtime = denoRuntime();
  const log = new DebugLogger(runtime.stderr);
  try {
    if (mayReplay(args)) {
      // A cached session served again from its record (lib/replay), before the command line,
      // the config and the chain are loaded; a miss runs the whole program as always.
      const served = await (await import("./lib/replay/replay.ts")).replay(args, runtime, log);
      if (served !== undefined) return served;
    }
    const { runCli } = await import("./lib/cli/mod.ts");
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

/** Whether argv may have a replay record: it names `export` or `exec` before any `--`. */
function mayReplay(argv: string[]): boolean {
  const end = argv.indexOf("--");
  const call = end < 0 ? argv : argv.slice(0, end);
  return call.includes("export") || call.includes("exec");
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
