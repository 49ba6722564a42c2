/**
 * The section table of a config file: where each of its sections lies (byte offsets and first
 * line, by normalized header), kept under ~/.awsvault/locks so that resolving one profile of a
 * large config reads the few sections it needs instead of reading, decoding and checking the
 * whole file on every call. Offsets only: no value of the config is copied.
 *
 * The table is written only for a file that the whole-file check found plain (every line one the
 * parser takes as it is: lib/config/config_file.ts) and that is ASCII (byte and character
 * offsets agree), and is trusted only while the file has the identity and change times it was
 * checked with (device, inode, size, mtime, ctime): any write to the file changes ctime, which
 * nobody can set back. As for the session index, a file changed within QUIET_MS of the check is
 * not tabled (lib/fs/stamp.ts).
 */
import { fnv1a64Hex } from "../encoding.ts";
import { openBucketFile, readRange, writeBucketFile } from "../fs/bucket_file.ts";
import { lockDir } from "../fs/lock_dir.ts";
import { regularFileStamp } from "../fs/stamp.ts";
import type { Runtime } from "../runtime.ts";

const FORMAT = "aws-vault config sections";
const VERSION = 1;
/** One occurrence of a section: byte offsets `[start, end)` and the line of its header. */
export type SectionRange = [start: number, end: number, line: number];

/** The table file of the config at `configPath`, in the lock directory (lib/fs/lock_dir.ts). */
export function sectionTablePath(runtime: Runtime, configPath: string): string {
  return `${lockDir(runtime)}/config-sections-${fnv1a64Hex(configPath)}`;
}

/** A table that holds for the config's current stamp. */
export interface SectionTable {
  /**
   * The occurrences of a normalized header in file order ([] for none), or undefined when the
   * table cannot be read (any more). Never throws.
   */
  ranges(header: string): SectionRange[] | undefined;
}

/**
 * The table at `path` if it was written for this config file and stamp; undefined otherwise
 * (none, not ours, torn, another file or stamp: lib/fs/bucket_file.ts).
 */
export function openSectionTable(
  path: string,
  configPath: string,
  stamp: string,
): SectionTable | undefined {
  const file = openBucketFile(
    path,
    (f) =>
      f.format === FORMAT && f.version === VERSION && f.config === configPath && f.stamp === stamp,
  );
  if (!file) return undefined;
  return {
    ranges: (header) => {
      const lines = file.bucket(header);
      if (lines === undefined) return undefined;
      for (const line of lines) {
        const entry = parseEntry(line);
        if (entry === undefined) return undefined;
        if (entry.header === header) return entry.ranges;
      }
      return [];
    },
  };
}

/** One table line: `[header, [[start, end, line], ...]]`, checked; undefined when malformed. */
function parseEntry(line: string): { header: string; ranges: SectionRange[] } | undefined {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") return undefined;
  const ranges = entry[1];
  if (!Array.isArray(ranges)) return undefined;
  let last = 0;
  for (const range of ranges) {
    if (!Array.isArray(range) || range.length !== 3 || !range.every(Number.isSafeInteger)) {
      return undefined;
    }
    const [start, end, lineNo] = range as number[];
    if (start < last || end <= start || lineNo < 1) return undefined;
    last = end;
  }
  return { header: entry[0], ranges: ranges as SectionRange[] };
}

/**
 * Writes the table of a config (best effort is the caller's: this throws on I/O errors); false
 * when it would be too large (then nothing is written).
 */
export async function writeSectionTable(
  path: string,
  config: { path: string; stamp: string },
  sections: Map<string, SectionRange[]>,
  now: Date,
): Promise<boolean> {
  const lines = [...sections].map(([header, ranges]) => ({
    key: header,
    line: JSON.stringify([header, ranges]),
  }));
  return await writeBucketFile(
    path,
    {
      format: FORMAT,
      version: VERSION,
      config: config.path,
      stamp: config.stamp,
    },
    lines,
    now,
  );
}

/** How far past a range readSectionBytes looks for the header line that must follow it. */
const LOOK_AHEAD = 256;

/** One range of the config as readSectionBytes read it. */
export interface SectionBytes {
  /** The byte before the range (undefined at the start of the file). */
  before: number | undefined;
  bytes: Uint8Array;
  /** Up to LOOK_AHEAD bytes after the range (empty at the end of the file). */
  after: Uint8Array;
}

/**
 * The bytes of one range of the config, read through a fresh descriptor, with the byte before
 * and a few after it (to prove it starts a line and ends where the next header starts);
 * undefined when the file no longer has `stamp` once read, the range is not all there, or it
 * cannot be read. Never throws.
 */
export function readSectionBytes(
  configPath: string,
  stamp: string,
  [start, end]: SectionRange,
): SectionBytes | undefined {
  const from = start === 0 ? 0 : start - 1;
  try {
    const { bytes, info } = readRange(configPath, from, end - from + LOOK_AHEAD);
    if (regularFileStamp(info) !== stamp || bytes.length < end - from) return undefined;
    return {
      before: start === 0 ? undefined : bytes[0],
      bytes: bytes.subarray(start - from, end - from),
      after: bytes.subarray(end - from),
    };
  } catch {
    return undefined;
  }
}
