/**
 * Runs one prompt driver in its own process, for tests that need a real controlling terminal
 * (or none): `deno run -A stand_in_driver_run.ts <driver> <serial>`. The driver sees this
 * process's environment (PATH finds the stand-ins); prints `code=<code>` or the error line.
 */
import { errorLine } from "../../lib/errors.ts";
import { promptDriver } from "../../lib/prompt/drivers.ts";
import { denoRuntime } from "../../lib/runtime.ts";

const runtime = denoRuntime();
try {
  const driver = promptDriver(Deno.args[0], {
    terminal: runtime.terminal,
    env: runtime.env,
    os: runtime.os,
  });
  console.log(`code=${await driver(Deno.args[1])}`);
} catch (err) {
  console.log(`error=${errorLine(err)}`);
  Deno.exit(1);
}
