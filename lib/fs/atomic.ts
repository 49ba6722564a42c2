/**
 * Atomic file writes: a crash (even SIGKILL or power loss) leaves either the old file or the new
 * one, never a truncated mix. The data goes to a temporary file in the same directory, is
 * fsynced, then renamed over the target; the directory is fsynced so the rename itself is durable.
 */
import { bytesToHex } from "../encoding.ts";

/**
 * Prefix of the temporary files writeFileAtomic creates. A `%` not followed by two hex digits
 * never appears in a file-backend item name (aws-vault escapes `%` as `%25`), so no item can be
 * taken for a temp file or the other way round.
 */
export const TEMP_PREFIX = "%aws-vault-tmp-";

/**
 * The temp file names of the releases before TEMP_PREFIX (`.aws-vault-tmp-` and 16 hex digits):
 * writes killed under them left such files in users' vaults, to be recognised and cleaned up.
 */
export const LEGACY_TEMP_NAME: RegExp = /^\.aws-vault-tmp-[0-9a-f]{16}$/;

/** Whether a directory entry is a temp file of writeFileAtomic (this release's or older). */
export function isTempFileName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) || LEGACY_TEMP_NAME.test(name);
}

/** Options for writeFileAtomic. */
export interface WriteFileAtomicOptions {
  /** File mode of the new file (default 0o600). */
  mode?: number;
}

/** Replaces `path` with `data` atomically; the file gets `mode` (default 0600). */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const dir = dirname(path);
  const temp = `${dir}/${TEMP_PREFIX}${randomHex(8)}`;
  const file = await Deno.open(temp, { write: true, createNew: true, mode });
  try {
    try {
      // The mode at creation is filtered by the umask; set it exactly.
      if (Deno.build.os !== "windows") await Deno.chmod(temp, mode);
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
  await syncDirectory(dir);
}

/**
 * Removes temporary files writeFileAtomic left in `dir` when its process was killed mid-write,
 * once they are older than `olderThanMs` (so a write in progress elsewhere is never touched).
 * Best effort: failures are ignored.
 */
export async function removeStaleTempFiles(
  dir: string,
  options: { olderThanMs: number; now: Date },
): Promise<number> {
  let removed = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !isTempFileName(entry.name)) continue;
      const path = `${dir}/${entry.name}`;
      const mtime = (await Deno.stat(path)).mtime;
      if (mtime && options.now.getTime() - mtime.getTime() > options.olderThanMs) {
        await Deno.remove(path);
        removed++;
      }
    }
  } catch {
    // Another process removed it first, or the directory is unreadable: nothing to clean here.
  }
  return removed;
}

/** Fsyncs a directory so a rename in it survives a crash (a no-op where unsupported). */
export async function syncDirectory(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  }
}

/** The directory part of a path ("." for a bare name). */
export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return path.slice(0, i);
}

function randomHex(bytes: number): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(bytes)));
}
