/**
 * Records the command line of every helper tool a process starts: shims named like the tools
 * (pass, gpg, keyctl, secret-tool, busctl...) go first on PATH, append their argv to a log and
 * exec the real tool. Tests then assert that no secret ever reached an argv.
 */

/** Shims in a directory and the log they write. */
export interface ArgvLog {
  /** PATH with the shims first. */
  path: string;
  /** Environment for the process under test: PATH and the log's location. */
  env: Record<string, string>;
  /** Everything logged so far, one command line per line. */
  read(): Promise<string>;
}

async function findOnPath(tool: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(":")) {
    if (!dir) continue;
    try {
      const info = await Deno.stat(`${dir}/${tool}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${tool}`;
    } catch { /* not here */ }
  }
  return undefined;
}

/** Creates shims in `dir` (which must exist) for those of `tools` that are installed. */
export async function argvLog(dir: string, tools: string[]): Promise<ArgvLog> {
  const basePath = Deno.env.get("PATH") ?? "/usr/bin:/bin";
  const log = `${dir}/argv.log`;
  await Deno.writeTextFile(log, "");
  for (const tool of tools) {
    const real = await findOnPath(tool, basePath);
    if (!real) continue;
    await Deno.writeTextFile(
      `${dir}/${tool}`,
      `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >> "$ARGV_LOG"\nexec '${real}' "$@"\n`,
      { mode: 0o755 },
    );
  }
  const path = `${dir}:${basePath}`;
  return {
    path,
    env: { PATH: path, ARGV_LOG: log },
    read: () => Deno.readTextFile(log),
  };
}
