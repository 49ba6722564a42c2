/**
 * The session index: the names of a keyring's session items (names only, never secrets), kept
 * in a file outside the keyring (under ~/.awsvault/locks) so a cache hit finds its session
 * without listing a large vault. It is a hint: it is used only while the keyring reports the
 * snapshot it was written under, only to find a session (a miss, or a hit that does not read
 * back, falls back to listing), and every session it names is read from the keyring by its own
 * key. The vault itself stays exactly aws-vault's: aws-vault never sees the index, and any entry
 * it writes or removes changes the snapshot.
 *
 * Format (text): a JSON header line, one session key per line, and `end`.
 */
import type { KeysSnapshot } from "../../backends/keyring.ts";
import { bytesToHex } from "../encoding.ts";
import { dirname, removeStaleTempFiles, writeFileAtomic } from "../fs/atomic.ts";

const FORMAT = "aws-vault session index";
const VERSION = 2;
/** Names are spread over this many buckets by a hash of their prefix; a lookup reads one. */
const BUCKETS = 256;
/** The header line is read in one piece of at most this many bytes. */
const MAX_HEADER_BYTES = 16 * 1024;
/** A larger index file is not read (nor written): 5,000 sessions take about 650 KB. */
export const MAX_INDEX_BYTES = 8 * 1024 * 1024;
/** Temp files of an index write killed midway are removed after this long. */
const STALE_TEMP_MS = 10 * 60_000;

/** What a session index that holds for the keyring's current snapshot says about a prefix. */
export interface SessionIndexAnswer {
  /** The earliest expiry (epoch ms) of all the sessions named, Infinity when none. */
  nextExpiry: number;
  /** The names of the index that start with the prefix (unchecked: callers check each). */
  keys: string[];
}

/** The index file of a store in `dir`: one per store, named by a hash of its identity. */
export async function sessionIndexPath(dir: string, store: string): Promise<string> {
  return `${dir}/session-index-${bytesToHex(await sha256(store)).slice(0, 32)}`;
}

/**
 * The names starting with `prefix` in the index at `path`, if it was written for this snapshot;
 * undefined for anything else: no file, not a regular file of ours, group- or world-writable,
 * too large, another store or stamp, a bad header, another size than the header says (a torn
 * write). Never throws. Reads the header and the one bucket of the prefix.
 */
export function lookUpSessionIndex(
  path: string,
  snapshot: KeysSnapshot,
  prefix: string,
): SessionIndexAnswer | undefined {
  let file: Deno.FsFile | undefined;
  try {
    // Synchronous calls: this is every cache hit's read, and each asynchronous call costs a
    // trip to Deno's blocking-thread pool.
    const info = Deno.lstatSync(path);
    if (!isOurRegularFile(info)) return undefined;
    file = Deno.openSync(path, { read: true });
    const opened = file.statSync();
    if (opened.ino !== info.ino || !isOurRegularFile(opened)) return undefined;
    const start = readAt(file, 0, Math.min(opened.size, MAX_HEADER_BYTES));
    const newline = start.indexOf(0x0a);
    if (newline < 0) return undefined;
    const header = parseHeader(new TextDecoder().decode(start.subarray(0, newline)));
    if (!header || header.store !== snapshot.store || header.stamp !== snapshot.stamp) {
      return undefined;
    }
    const { buckets, size } = header;
    if (size !== opened.size || buckets[0] !== newline + 1 || buckets[BUCKETS] !== size) {
      return undefined;
    }
    const bucket = bucketOf(prefix);
    const from = buckets[bucket];
    const to = buckets[bucket + 1];
    const bytes = to <= start.length ? start.subarray(from, to) : readAt(file, from, to - from);
    const keys: string[] = [];
    if (prefix !== "") {
      for (const line of new TextDecoder().decode(bytes).split("\n")) {
        if (line.startsWith(prefix)) keys.push(line);
      }
    }
    return { nextExpiry: header.nextExpiry, keys };
  } catch {
    return undefined;
  } finally {
    file?.close();
  }
}

/** Header fields, checked; undefined for anything malformed. */
function parseHeader(line: string):
  | { store: string; stamp: string; nextExpiry: number; size: number; buckets: number[] }
  | undefined {
  let header: unknown;
  try {
    header = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof header !== "object" || header === null) return undefined;
  const { format, version, store, stamp, nextExpiry, size, buckets } = header as Record<
    string,
    unknown
  >;
  if (format !== FORMAT || version !== VERSION) return undefined;
  if (typeof store !== "string" || typeof stamp !== "string") return undefined;
  if (nextExpiry !== null && (typeof nextExpiry !== "number" || !Number.isFinite(nextExpiry))) {
    return undefined;
  }
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size > MAX_INDEX_BYTES) {
    return undefined;
  }
  if (!Array.isArray(buckets) || buckets.length !== BUCKETS + 1) return undefined;
  for (let i = 0; i < buckets.length; i++) {
    const at = buckets[i];
    if (!Number.isSafeInteger(at) || at < 0 || at > size || (i > 0 && at < buckets[i - 1])) {
      return undefined;
    }
  }
  return { store, stamp, nextExpiry: nextExpiry ?? Infinity, size, buckets };
}

/**
 * Writes the index of a snapshot atomically (0600); false when a name cannot be one line, or
 * the index would be too large (then nothing is written, and an old index stays unused).
 */
export async function writeSessionIndex(
  path: string,
  snapshot: KeysSnapshot,
  sessions: { keys: string[]; nextExpiry: number },
  now: Date,
): Promise<boolean> {
  if (sessions.keys.some((k) => k === "" || /[\r\n]/.test(k))) return false;
  const enc = new TextEncoder();
  const buckets: string[][] = Array.from({ length: BUCKETS }, () => []);
  for (const k of sessions.keys) {
    const comma = k.lastIndexOf(",");
    if (comma >= 0) buckets[bucketOf(k.slice(0, comma + 1))].push(`${k}\n`);
  }
  const parts = buckets.map((b) => enc.encode(b.join("")));
  const body = parts.reduce((n, p) => n + p.length, 0);
  // The header holds the offsets, whose digits set the header's length: widen until it fits.
  let header = new Uint8Array();
  for (let tries = 0; tries < 8; tries++) {
    const offsets = [header.length];
    for (const part of parts) offsets.push(offsets[offsets.length - 1] + part.length);
    const next = enc.encode(
      `${
        JSON.stringify({
          format: FORMAT,
          version: VERSION,
          store: snapshot.store,
          stamp: snapshot.stamp,
          nextExpiry: Number.isFinite(sessions.nextExpiry) ? sessions.nextExpiry : null,
          size: header.length + body,
          buckets: offsets,
        })
      }\n`,
    );
    const fits = next.length === header.length;
    header = next;
    if (fits) break;
  }
  const size = header.length + body;
  if (size > MAX_INDEX_BYTES || header.length > MAX_HEADER_BYTES) return false;
  if (lookUpHeaderSize(header) !== size) return false; // the offsets never settled
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

/** The size a header written here declares (to check the writer settled its offsets). */
function lookUpHeaderSize(header: Uint8Array): number | undefined {
  const parsed = parseHeader(new TextDecoder().decode(header.subarray(0, header.length - 1)));
  return parsed?.buckets[0] === header.length ? parsed.size : undefined;
}

function isOurRegularFile(info: Deno.FileInfo): boolean {
  const uid = Deno.uid();
  if (!info.isFile || info.size > MAX_INDEX_BYTES) return false;
  if (uid !== null && info.uid !== null && info.uid !== uid) return false;
  return ((info.mode ?? 0) & 0o022) === 0;
}

/** `length` bytes at `offset` (fewer at the end of the file). */
function readAt(file: Deno.FsFile, offset: number, length: number): Uint8Array {
  file.seekSync(offset, Deno.SeekMode.Start);
  const buf = new Uint8Array(length);
  let n = 0;
  while (n < length) {
    const got = file.readSync(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return buf.subarray(0, n);
}

/** The bucket of a session key prefix: FNV-1a (32 bits) of its UTF-16 code units. */
function bucketOf(prefix: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < prefix.length; i++) {
    hash = Math.imul(hash ^ prefix.charCodeAt(i), 0x01000193);
  }
  return (hash >>> 0) % BUCKETS;
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
