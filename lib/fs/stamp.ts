/**
 * File stamps: a file's identity (device, inode) and change times (mtime, ctime) and size. Any
 * write, rename, chmod or entry added to a directory changes mtime or ctime, and nobody can set
 * ctime back, so an equal stamp means an unchanged file, with one gap: a change within the file
 * system's timestamp granularity of the stamp being taken. Whatever trusts a stamp (the session
 * index, the config section table, replay records) therefore takes it only from a file that was
 * left alone for QUIET_MS.
 */

/**
 * How long a file must have been left alone before its stamp is trusted: beyond any file
 * system's timestamp granularity (FAT: 2 s; ext3, HFS+: 1 s; some Deno versions report ctime in
 * whole seconds).
 */
export const QUIET_MS = 2_500;

/** The stamp of a stat result; undefined when the platform does not report all of it. */
export function fileStamp(info: Deno.FileInfo): string | undefined {
  const { dev, ino, size, mtime, ctime } = info;
  if (ino === null || ino === undefined || !mtime || !ctime) return undefined;
  return `${dev}:${ino}:${size}:${mtime.getTime()}:${ctime.getTime()}`;
}

/** The stamp of a regular file's stat; undefined for anything else (a FIFO, a directory). */
export function regularFileStamp(info: Deno.FileInfo): string | undefined {
  return info.isFile ? fileStamp(info) : undefined;
}

/**
 * Whether a file with this stat was left alone for QUIET_MS before `now` (false for a change
 * time after `now`: a clock behind the file system's).
 */
export function isQuiet(info: Deno.FileInfo, now: Date): boolean {
  const changed = Math.max(info.mtime?.getTime() ?? Infinity, info.ctime?.getTime() ?? Infinity);
  return changed <= now.getTime() - QUIET_MS;
}
