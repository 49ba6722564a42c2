/**
 * Runs aws-vault under a wrapper program (`keyctl session <name>`, `setpriv ...`), which then
 * starts the CLI as `runCli` would: same command line, same cleared environment.
 */
import { cliCommand, type CliOptions, type CliResult, DENO_DIR } from "./cli.ts";

/** Runs `<wrapper...> deno run -A main.ts <args>`; the wrapper must exec its arguments. */
export async function runCliUnder(
  wrapper: string[],
  args: string[],
  options: CliOptions = {},
): Promise<CliResult> {
  const [program, ...wrapperArgs] = wrapper;
  const child = new Deno.Command(program, {
    args: [...wrapperArgs, ...cliCommand(), ...args],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      NO_COLOR: "1",
      DENO_DIR,
      ...options.env,
    },
    clearEnv: true,
    cwd: options.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin !== undefined) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
