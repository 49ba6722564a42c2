/**
 * Edits of the user's config file (`add --add-config`): append a section, never rewrite what is
 * there. Writes are atomic (temp file in the same directory, then rename) and follow a symlinked
 * config (dotfile managers) instead of replacing the link.
 */
import { UserError } from "../errors.ts";
import { parseConfig, profileHeader } from "./config_file.ts";

/**
 * Appends `[profile name]` (or `[default]`) with these keys if the profile has no section.
 * Creates the directory 0700 and the file 0600 if missing; keeps an existing file's mode.
 * Returns false (and writes nothing) if the section already existed.
 */
export async function addProfileSection(
  path: string,
  name: string,
  keys: Record<string, string> = {},
): Promise<boolean> {
  checkWritable("profile name", name);
  for (const [key, value] of Object.entries(keys)) {
    checkWritable("config key", key);
    if (key.includes("=") || key.trim() !== key || key === "") {
      throw new UserError(`cannot write config key "${key}" to ${path}`);
    }
    checkWritable(`value of ${key}`, value);
  }

  const target = await realTarget(path);
  let existing = "";
  let mode = 0o600;
  try {
    existing = await Deno.readTextFile(target);
    mode = (await Deno.stat(target)).mode! & 0o777;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw new UserError(`cannot read config file ${path}: ${(err as Error).message}`);
    }
  }
  if (parseConfig(existing, path).hasProfile(name)) return false;

  const lines = [`[${profileHeader(name)}]`];
  for (const [key, value] of Object.entries(keys)) lines.push(`${key}=${value}`);
  const eol = existing.includes("\r\n") ? "\r\n" : "\n";
  let prefix = existing;
  if (prefix !== "" && !prefix.endsWith("\n")) prefix += eol;
  if (prefix.trim() !== "") prefix += eol; // a blank line before the new section
  const text = prefix + lines.join(eol) + eol;

  const dir = target.slice(0, Math.max(target.lastIndexOf("/"), 0)) || ".";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${target}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(temp, text, { mode, createNew: true });
    await Deno.chmod(temp, mode); // the umask may have narrowed the mode
    await Deno.rename(temp, target);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw new UserError(`cannot write config file ${path}: ${(err as Error).message}`);
  }
  return true;
}

/** The file a write must replace: the config itself, or what its symlink points at. */
async function realTarget(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}

/** Rejects text that would break the INI structure (newlines, a `]` in a header). */
function checkWritable(what: string, text: string): void {
  const badName = what === "profile name" &&
    (text.includes("]") || text.trim() !== text || text === "");
  if (/[\r\n]/.test(text) || badName) {
    throw new UserError(`cannot write ${what} ${JSON.stringify(text)} to the config file`);
  }
}
