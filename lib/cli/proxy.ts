/**
 * `aws-vault proxy` (hidden, alias `server`): the privileged helper `exec --ec2-server` starts
 * through sudo (see lib/server/ec2_proxy.ts); `--stop` asks a running one to stop.
 */
import { UserError } from "../errors.ts";
import { runProgram } from "../process/mod.ts";
import { EC2_METADATA_ADDR, parseListenAddr } from "../server/ec2_server.ts";
import { runProxy, stopProxy } from "../server/ec2_proxy.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { PROXY } from "./table.ts";

/** Runs the command; returns the exit code. */
export async function proxyCommand(
  ctx: CommandContext,
  { options: opts }: InputOf<typeof PROXY>,
): Promise<number> {
  const { runtime } = ctx;
  const listen = parseListenAddr(EC2_METADATA_ADDR);
  if (opts?.stop) {
    if (!(await stopProxy(listen))) throw new UserError(`no proxy answers on ${EC2_METADATA_ADDR}`);
    return 0;
  }
  if (runtime.os !== "windows" && Deno.uid() !== 0) {
    throw new UserError(
      "proxy must run as root: it adds 169.254.169.254 to the loopback interface and listens on port 80 (exec --ec2-server starts it through sudo)",
    );
  }
  let signalled!: () => void;
  const stopSignal = new Promise<void>((r) => (signalled = r));
  const signals: Deno.Signal[] = runtime.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, signalled);
  try {
    await runProxy({
      listen,
      os: runtime.os,
      log: (line) => ctx.log.debug(line),
      stopSignal,
      run: async (argv) => {
        const out = await runProgram(argv[0], argv.slice(1), { env: runtime.env.toObject() });
        return { code: out.code, stderr: out.stderr };
      },
    });
  } catch (err) {
    throw new UserError(`proxy: ${(err as Error).message}`);
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, signalled);
  }
  return 0;
}
