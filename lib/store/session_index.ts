/**
 * The session index: the names of a keyring's session items (names only, never secrets), kept
 * in a file outside the keyring (under ~/.awsvault/locks) so a cache hit finds its session
 * without listing a large vault. It is a hint: it is used only while the keyring reports the
 * snapshot it was written under, only to find a session (a miss, or a hit that does not read
 * back, falls back to listing), and every session it names is read from the keyring by its own
 * key. The vault itself stays exactly aws-vault's: aws-vault never sees the index, and any entry
 * it writes or removes changes the snapshot.
 *
 * Format: a bucket file (lib/fs/bucket_file.ts) of session keys, each in the bucket of its prefix
 * up to the comma before the expiry; the header holds the store, the stamp and the earliest expiry.
 */
import type { KeysSnapshot } from "../../backends/keyring.ts";
import { bytesToHex } from "../encoding.ts";
import { openBucketFile, writeBucketFile } from "../fs/bucket_file.ts";

const FORMAT = "aws-vault session index";
const VERSION = 2;

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
 * write). Never throws. Reads the header and the one bucket of the prefix (lib/fs/bucket_file.ts).
 */
export function lookUpSessionIndex(
  path: string,
  snapshot: KeysSnapshot,
  prefix: string,
): SessionIndexAnswer | undefined {
  let nextExpiry = Infinity;
  const index = openBucketFile(path, (fields) => {
    if (fields.format !== FORMAT || fields.version !== VERSION) return false;
    if (fields.store !== snapshot.store || fields.stamp !== snapshot.stamp) return false;
    const next = fields.nextExpiry;
    if (next === null) return true;
    if (typeof next !== "number" || !Number.isFinite(next)) return false;
    nextExpiry = next;
    return true;
  });
  if (!index) return undefined;
  const lines = prefix === "" ? [] : index.bucket(prefix);
  if (lines === undefined) return undefined;
  return { nextExpiry, keys: lines.filter((line) => line.startsWith(prefix)) };
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
  const lines = [];
  for (const k of sessions.keys) {
    const comma = k.lastIndexOf(",");
    // A lookup's prefix ends at the comma before the expiry: the bucket is that prefix's.
    if (comma >= 0) lines.push({ key: k.slice(0, comma + 1), line: k });
  }
  return await writeBucketFile(
    path,
    {
      format: FORMAT,
      version: VERSION,
      store: snapshot.store,
      stamp: snapshot.stamp,
      nextExpiry: Number.isFinite(sessions.nextExpiry) ? sessions.nextExpiry : null,
    },
    lines,
    now,
  );
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
