/**
 * A cross-process lock: a lock file created with O_EXCL holds the holder's pid, host and start
 * time. Waiters poll until the file is gone. A holder that died (its pid is gone on this host, or
 * belongs to a process started later) is stale and its lock is broken; a live holder never is.
 * Only a holder on another host is judged by age (`staleMs`). Breaking
 * is itself serialised by a short-lived `.break` lock file, and the breaker re-reads the lock
 * before removing it, so two waiters never both break and both take the lock.
 */
import { UserError } from "../errors.ts";
import { dirname } from "./atomic.ts";
import { sleep } from "../timer.ts";

/** Options for withLock. */
export interface LockOptions {
  /** Give up waiting after this long (default 5 minutes: a holder may be waiting for an MFA code). */
  timeoutMs?: number;
  /** A lock of another host held longer than this is stale (default 5 minutes). */
  staleMs?: number;
}

interface LockInfo {
  pid: number;
  host: string;
  /** Epoch milliseconds when the lock was taken. */
  created: number;
  /** Random token identifying this acquisition. */
  nonce: string;
  /** The holder's start time (/proc/<pid>/stat field 22), to tell a reused pid from it. */
  start?: string;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_STALE_MS = 5 * 60_000;
/** A `.break` file older than this belongs to a breaker that died mid-break. */
const BREAK_STALE_MS = 10_000;

/** Runs `fn` while holding the lock file `lockPath`; other processes wait for it. */
export async function withLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const info = await acquire(lockPath, options);
  try {
    return await fn();
  } finally {
    await release(lockPath, info);
  }
}

async function acquire(lockPath: string, options: LockOptions): Promise<LockInfo> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  await ensureDir(dirname(lockPath));
  const deadline = Date.now() + timeoutMs;
  let delay = 10;
  for (;;) {
    const info = newInfo();
    if (await tryCreate(lockPath, info)) return info;
    const holder = await readInfo(lockPath);
    if (holder === undefined && (await ageOf(lockPath)) === undefined) continue; // just released
    if (holder === undefined || isStale(holder, staleMs)) {
      await breakStale(lockPath, holder, staleMs);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        `timed out waiting for lock ${lockPath} (held by process ${holder.pid} on ${holder.host})`,
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 200);
  }
}

async function release(lockPath: string, info: LockInfo): Promise<void> {
  // Only remove our own lock: if it was broken as stale, someone else may hold it now.
  const current = await readInfo(lockPath);
  if (current?.nonce === info.nonce) await Deno.remove(lockPath).catch(() => {});
}

/**
 * Removes a stale lock, unless it changed since we looked. A lock file that cannot be parsed
 * (its writer died between create and write) is stale once it is older than a moment.
 */
async function breakStale(
  lockPath: string,
  seen: LockInfo | undefined,
  staleMs: number,
): Promise<void> {
  const breakPath = `${lockPath}.break`;
  const breaker = newInfo();
  if (!(await tryCreate(breakPath, breaker))) {
    const other = await readInfo(breakPath);
    const age = other ? Date.now() - other.created : await ageOf(breakPath);
    if (age !== undefined && age > BREAK_STALE_MS) await Deno.remove(breakPath).catch(() => {});
    await sleep(10);
    return;
  }
  try {
    const now = await readInfo(lockPath);
    if (seen === undefined) {
      const age = await ageOf(lockPath);
      if (now === undefined && age !== undefined && age > 1000) {
        await Deno.remove(lockPath).catch(() => {});
      } else {
        await sleep(10);
      }
    } else if (now?.nonce === seen.nonce && isStale(now, staleMs)) {
      await Deno.remove(lockPath).catch(() => {});
    }
  } finally {
    await Deno.remove(breakPath).catch(() => {});
  }
}

/**
 * Whether a lock's holder is gone. On this host that is decided by the process alone: a holder
 * that lives and is the process that took the lock is never stale, however long it holds (an
 * MFA prompt may take minutes); a dead pid, or a pid now used by a process started later, is
 * stale at once. A holder on another host (a shared home) is judged by age.
 */
function isStale(info: LockInfo, staleMs: number): boolean {
  if (info.host !== Deno.hostname()) return Date.now() - info.created > staleMs;
  if (!processExists(info.pid)) return true;
  const start = processStart(info.pid);
  if (info.start !== undefined && start !== undefined) return start !== info.start;
  // No start time to compare (another OS, or a lock of an older version): age decides.
  return info.start === undefined && Date.now() - info.created > staleMs;
}

/** A process's start time in clock ticks since boot (Linux /proc), undefined elsewhere. */
function processStart(pid: number): string | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 2 (the command) is in parentheses and may hold spaces: count from its end.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function processExists(pid: number): boolean {
  if (Deno.build.os === "windows") return true;
  try {
    // Signal 0 checks for existence without delivering anything; Deno's type lists names only.
    Deno.kill(pid, 0 as unknown as Deno.Signal);
    return true;
  } catch (err) {
    return !(err instanceof Deno.errors.NotFound);
  }
}

async function tryCreate(path: string, info: LockInfo): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw new UserError(`cannot create lock file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(info));
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
  } finally {
    file.close();
  }
  return true;
}

async function readInfo(path: string): Promise<LockInfo | undefined> {
  try {
    const raw = JSON.parse(await Deno.readTextFile(path));
    if (
      typeof raw?.pid === "number" && typeof raw.host === "string" &&
      typeof raw.created === "number" && typeof raw.nonce === "string"
    ) {
      return raw as LockInfo;
    }
  } catch {
    // Missing, half-written or foreign: the caller decides by age.
  }
  return undefined;
}

async function ageOf(path: string): Promise<number | undefined> {
  try {
    const mtime = (await Deno.stat(path)).mtime;
    return mtime ? Date.now() - mtime.getTime() : undefined;
  } catch {
    return undefined;
  }
}

let ownStart: string | undefined;

function newInfo(): LockInfo {
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16))
    .join("");
  ownStart ??= processStart(Deno.pid) ?? "";
  return {
    pid: Deno.pid,
    host: Deno.hostname(),
    created: Date.now(),
    nonce,
    ...(ownStart ? { start: ownStart } : {}),
  };
}

async function ensureDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists || err instanceof Deno.errors.NotADirectory) {
      throw new UserError(`lock directory ${dir} is not a directory: move it away`);
    }
    throw new UserError(`cannot create lock directory ${dir}: ${(err as Error).message}`);
  }
}
