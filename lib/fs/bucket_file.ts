/**
 * Bucket files: small caches of text lines kept beside the lock files (the session index, the
 * config's section table), spread over buckets by a hash of a lookup key so that a lookup reads
 * the header and one bucket, never the whole file. Reads are synchronous: they sit on the
 * cache-hit path of every call, where a few small reads cost microseconds as sync calls and a
 * thread hand-off each as async ones.
 *
 * Format (text): a JSON header line (the writer's fields, then `size` and `buckets`, the byte
 * offset of each bucket and of the end), then the lines, bucket by bucket.
 */
import { dirname, removeStaleTempFiles, writeFileAtomic } from "./atomic.ts";

/** Lines are spread over this many buckets by bucketOf(their key). */
const BUCKETS = 256;
/** The header line is read in one piece of at most this many bytes. */
const MAX_HEADER_BYTES = 16 * 1024;
/** A larger bucket file is not read (nor written). */
export const MAX_BUCKET_FILE_BYTES = 8 * 1024 * 1024;
/** Temp files of a write killed midway are removed after this long. */
const STALE_TEMP_MS = 10 * 60_000;

/** One line and the key whose bucket holds it. */
export interface BucketLine {
  key: string;
  line: string;
}

/** A bucket file whose header the reader accepted. */
export interface BucketFile {
  /** The header's fields (the writer's, plus `size` and `buckets`). */
  fields: Record<string, unknown>;
  /**
   * The lines of the bucket of `key` (every line of that bucket: callers pick theirs), or
   * undefined when the file changed or cannot be read since it was opened. Never throws.
   */
  bucket(key: string): string[] | undefined;
  /** Every line of every bucket (for a rewrite); undefined as for bucket(). Never throws. */
  all(): string[] | undefined;
}

/**
 * Opens the bucket file at `path` if `accept` takes its header; undefined for anything else: no
 * file, not a regular file of ours (owner, not group- or world-writable), too large, a bad
 * header, another size than the header says (a torn write). Never throws; never blocks on a
 * FIFO or a device (they are refused before they are opened).
 */
export function openBucketFile(
  path: string,
  accept: (fields: Record<string, unknown>) => boolean,
): BucketFile | undefined {
  try {
    const info = Deno.lstatSync(path);
    if (!isOurRegularFile(info)) return undefined;
    const { bytes: start, info: opened } = readRange(path, 0, MAX_HEADER_BYTES);
    if (opened.ino !== info.ino || !isOurRegularFile(opened)) return undefined;
    const newline = start.indexOf(0x0a);
    if (newline < 0) return undefined;
    const fields = parseHeader(new TextDecoder().decode(start.subarray(0, newline)));
    if (!fields || !accept(fields)) return undefined;
    const { size, buckets } = fields as { size: number; buckets: number[] };
    if (size !== opened.size || buckets[0] !== newline + 1 || buckets[BUCKETS] !== size) {
      return undefined;
    }
    const same = (other: Deno.FileInfo) =>
      other.ino === opened.ino && other.size === opened.size &&
      other.mtime?.getTime() === opened.mtime?.getTime();
    const lines = (from: number, to: number): string[] | undefined => {
      try {
        let bytes: Uint8Array;
        if (to <= start.length) bytes = start.subarray(from, to);
        else {
          const read = readRange(path, from, to - from);
          if (!same(read.info) || read.bytes.length !== to - from) return undefined;
          bytes = read.bytes;
        }
        const text = new TextDecoder().decode(bytes);
        return text === "" ? [] : text.slice(0, -1).split("\n");
      } catch {
        return undefined;
      }
    };
    return {
      fields,
      bucket: (key) => lines(buckets[bucketOf(key)], buckets[bucketOf(key) + 1]),
      all: () => lines(buckets[0], buckets[BUCKETS]),
    };
  } catch {
    return undefined;
  }
}

/**
 * Writes a bucket file atomically (0600, its directory 0700): `fields` (JSON values; `size` and
 * `buckets` are added), then each line in the bucket of its key. False when a line is not one
 * line, or the file would be too large (then nothing is written).
 */
export async function writeBucketFile(
  path: string,
  fields: Record<string, unknown>,
  lines: BucketLine[],
  now: Date,
): Promise<boolean> {
  if (lines.some((l) => /[\r\n]/.test(l.line))) return false;
  const enc = new TextEncoder();
  const buckets: string[][] = Array.from({ length: BUCKETS }, () => []);
  for (const { key, line } of lines) buckets[bucketOf(key)].push(`${line}\n`);
  const parts = buckets.map((b) => enc.encode(b.join("")));
  const body = parts.reduce((n, p) => n + p.length, 0);
  // The header holds the offsets, whose digits set the header's length: widen until it fits.
  let header = new Uint8Array();
  for (let tries = 0; tries < 8; tries++) {
    const offsets = [header.length];
    for (const part of parts) offsets.push(offsets[offsets.length - 1] + part.length);
    const next = enc.encode(
      `${JSON.stringify({ ...fields, size: header.length + body, buckets: offsets })}\n`,
    );
    const fits = next.length === header.length;
    header = next;
    if (fits) break;
  }
  const size = header.length + body;
  if (size > MAX_BUCKET_FILE_BYTES || header.length > MAX_HEADER_BYTES) return false;
  const declared = parseHeader(new TextDecoder().decode(header.subarray(0, header.length - 1)));
  // The offsets never settled.
  if (declared?.size !== size || (declared.buckets as number[])[0] !== header.length) return false;
  const bytes = new Uint8Array(size);
  bytes.set(header, 0);
  let at = header.length;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, bytes, { mode: 0o600 });
  await removeStaleTempFiles(dir, { olderThanMs: STALE_TEMP_MS, now });
  return true;
}

/** The header's fields with `size` and `buckets` checked; undefined for anything malformed. */
function parseHeader(line: string): Record<string, unknown> | undefined {
  let header: unknown;
  try {
    header = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return undefined;
  const { size, buckets } = header as Record<string, unknown>;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size > MAX_BUCKET_FILE_BYTES) {
    return undefined;
  }
  if (!Array.isArray(buckets) || buckets.length !== BUCKETS + 1) return undefined;
  for (let i = 0; i < buckets.length; i++) {
    const at = buckets[i];
    if (!Number.isSafeInteger(at) || at < 0 || at > size || (i > 0 && at < buckets[i - 1])) {
      return undefined;
    }
  }
  return header as Record<string, unknown>;
}

function isOurRegularFile(info: Deno.FileInfo): boolean {
  const uid = Deno.uid();
  if (!info.isFile || info.size > MAX_BUCKET_FILE_BYTES) return false;
  if (uid !== null && info.uid !== null && info.uid !== uid) return false;
  return ((info.mode ?? 0) & 0o022) === 0;
}

/**
 * Up to `length` bytes at `offset` of the file at `path` (fewer at its end), and what fstat
 * says of the opened file.
 */
export function readRange(
  path: string,
  offset: number,
  length: number,
): { bytes: Uint8Array; info: Deno.FileInfo } {
  const file = Deno.openSync(path, { read: true });
  try {
    const info = file.statSync();
    const want = Math.max(0, Math.min(length, info.size - offset));
    const buf = new Uint8Array(want);
    if (offset > 0) file.seekSync(offset, Deno.SeekMode.Start);
    let n = 0;
    while (n < want) {
      const got = file.readSync(buf.subarray(n));
      if (got === null || got === 0) break;
      n += got;
    }
    return { bytes: buf.subarray(0, n), info };
  } finally {
    file.close();
  }
}

/** The bucket of a key: FNV-1a (32 bits) of its UTF-16 code units. */
function bucketOf(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  }
  return (hash >>> 0) % BUCKETS;
}
