/**
 * Finding programs on PATH, as a shell does, without running anything. One rule for every
 * program we start: only absolute hits count. An empty or relative PATH entry (the current
 * directory) is skipped, as Go's exec.LookPath refuses such hits since Go 1.19: a program is
 * never run from whatever directory the user happens to be in.
 */

/** Options for {@link lookPath}. */
export interface LookPathOptions {
  /**
   * A cheap first test of each candidate: false only when nothing is there (the C library's
   * access(2)); the others are then checked as always.
   */
  mayExist?: (file: string) => boolean;
}

/**
 * The absolute path of `name` on `path` (a PATH value), or undefined. A name with a `/` is
 * checked as given (it must be executable).
 */
export function lookPath(
  name: string,
  path: string | undefined,
  options: LookPathOptions = {},
): string | undefined {
  if (name.includes("/")) return isExecutable(name) ? name : undefined;
  for (const dir of (path ?? "").split(":")) {
    if (!dir.startsWith("/")) continue;
    const candidate = `${dir.replace(/\/+$/, "")}/${name}`;
    if (options.mayExist && !options.mayExist(candidate)) continue;
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    // Synchronous: `exec` looks its child up on every run (a thread-pool trip per PATH entry).
    const info = Deno.statSync(file);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}
