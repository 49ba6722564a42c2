/** Finding executables on PATH, as a shell does, without running anything. */

/** The full path of `name` on `path` (a PATH value), or undefined. Names with a `/` are kept. */
export async function lookPath(
  name: string,
  path: string | undefined,
): Promise<string | undefined> {
  if (name.includes("/")) return (await isExecutable(name)) ? name : undefined;
  for (const dir of (path ?? "").split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${name}`;
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    const info = await Deno.stat(file);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}
