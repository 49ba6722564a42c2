/**
 * Records the command line of every helper tool a process starts: shims named like the tools
 * (pass, gpg, keyctl...) go first on PATH, append their argv to a log and
 * exec the real tool. Tests then assert that no secret ever reached an argv. Each shim also
 * copies its own /proc/<pid>/environ (the very process the real tool then runs in, since the
 * shim execs it) to a second log, so tests can assert what reached the tools' environments.
 */
import { lookPath } from "../../lib/process/path_lookup.ts";

/** Shims in a directory and the log they write. */
export interface ArgvLog {
  /** PATH with the shims first. */
  path: string;
  /** Environment for the process under test: PATH and the log's location. */
  env: Record<string, string>;
  /** Everything logged so far, one command line per line. */
  read(): Promise<string>;
  /** The environment of every tool run so far, in order: its name and its variables. */
  environments(): Promise<{ tool: string; vars: Record<string, string> }[]>;
}

/** Creates shims in `dir` (which must exist) for those of `tools` that are installed. */
export async function argvLog(dir: string, tools: string[]): Promise<ArgvLog> {
  const basePath = Deno.env.get("PATH") ?? "/usr/bin:/bin";
  const log = `${dir}/argv.log`;
  const environLog = `${log}.environ`;
  await Deno.writeTextFile(log, "");
  await Deno.writeTextFile(environLog, "");
  for (const tool of tools) {
    const real = await lookPath(tool, basePath);
    if (!real) continue;
    // One record per run: the tool's name, then its NUL-separated environment, then a blank NUL.
    const shim = `#!/bin/sh
printf '%s\\n' "${tool} $*" >> "$ARGV_LOG"
{ printf '%s\\0' "${tool}"; cat /proc/$$/environ; printf '\\0'; } >> "$ARGV_LOG.environ"
exec '${real}' "$@"
`;
    await Deno.writeTextFile(`${dir}/${tool}`, shim, { mode: 0o755 });
  }
  const path = `${dir}:${basePath}`;
  return {
    path,
    env: { PATH: path, ARGV_LOG: log },
    read: () => Deno.readTextFile(log),
    environments: async () => {
      const text = await Deno.readTextFile(environLog).catch(() => "");
      const runs: { tool: string; vars: Record<string, string> }[] = [];
      for (const record of text.split("\0\0").filter((r) => r !== "")) {
        const [tool, ...pairs] = record.split("\0").filter((p) => p !== "");
        const vars: Record<string, string> = {};
        for (const pair of pairs) {
          const eq = pair.indexOf("=");
          if (eq > 0) vars[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        runs.push({ tool, vars });
      }
      return runs;
    },
  };
}
