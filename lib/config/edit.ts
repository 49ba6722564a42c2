/**
 * Edits of the user's config file (`add --add-config`): append a section, never rewrite what is
 * there. Writes are atomic (temp file in the same directory, then rename) and follow a symlinked
 * config (dotfile managers) instead of replacing the link.
 */
import { UserError } from "../errors.ts";
import { dirname, writeFileAtomic } from "../fs/atomic.ts";
import { withLock } from "../fs/lock.ts";
import { decodeConfigText, parseConfig, profileHeader, readConfigBytes } from "./config_file.ts";
import { parseIni } from "./ini.ts";

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
  checkReadsBack(path, name, keys);

  const target = await realTarget(path);
  // Only a regular file is edited: a rename over /dev/null or a FIFO would replace it.
  const info = await Deno.stat(target).catch(() => undefined);
  if (info && !info.isFile) {
    throw new UserError(
      `config file ${path} is not a regular file; not editing it (add [${
        profileHeader(name)
      }] yourself, or use --no-add-config)`,
    );
  }
  // Read-modify-write under a lock: parallel adds must not drop each other's sections.
  return await withLock(lockPathFor(target), async () => {
    const bytes = await readConfigBytes(target).catch((err) => {
      throw new UserError(`${(err as Error).message}; not editing it`);
    });
    const existing = bytes === undefined ? "" : decodeConfigText(bytes, path);
    const mode = bytes === undefined ? 0o600 : (await Deno.stat(target)).mode! & 0o777;
    if (parseConfig(existing, path).hasProfile(name)) return false;

    const lines = [`[${profileHeader(name)}]`];
    for (const [key, value] of Object.entries(keys)) lines.push(`${key}=${value}`);
    const eol = existing.includes("\r\n") ? "\r\n" : "\n";
    let glue = "";
    if (existing !== "" && !existing.endsWith("\n")) glue += eol;
    if (existing.trim() !== "") glue += eol; // a blank line before the new section
    // The new text goes after the file's own bytes, which are kept as they are (not UTF-8 too).
    const added = new TextEncoder().encode(glue + lines.join(eol) + eol);
    const out = new Uint8Array((bytes?.length ?? 0) + added.length);
    if (bytes) out.set(bytes);
    out.set(added, bytes?.length ?? 0);

    try {
      await Deno.mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await writeFileAtomic(target, out, { mode });
    } catch (err) {
      throw new UserError(`cannot write config file ${path}: ${(err as Error).message}`);
    }
    return true;
  }, { timeoutMs: 60_000 });
}

/** The lock of edits to one config file, beside it (held only during an edit). */
function lockPathFor(target: string): string {
  const dir = dirname(target);
  return `${dir}/.${target.slice(dir.length + 1)}.aws-vault.lock`;
}

/** The file a write must replace: the config itself, or what its symlink points at. */
async function realTarget(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}

/**
 * Rejects values the parser (and so aws-vault and the AWS CLI) would read differently from what
 * is written: an opening `"""` or backtick, a comment, surrounding quotes, a trailing backslash.
 */
function checkReadsBack(path: string, name: string, keys: Record<string, string>): void {
  const text = [`[${profileHeader(name)}]`, ...Object.entries(keys).map(([k, v]) => `${k}=${v}`)]
    .join("\n");
  let values: Map<string, { value: string }> | undefined;
  try {
    values = parseIni(text, path).sections[0]?.values;
  } catch {
    values = undefined;
  }
  for (const [key, value] of Object.entries(keys)) {
    // A trailing backslash reads back here, but aws-vault's go-ini would join the next line.
    if (values?.get(key.toLowerCase())?.value !== value.trim() || value.trimEnd().endsWith("\\")) {
      throw new UserError(
        `cannot write value of ${key} ${
          JSON.stringify(value)
        } to the config file: it would not read back as written`,
      );
    }
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
