/**
 * Remembers, per MFA device, the TOTP window of the last code we sent and a hash of that code
 * (never the code itself), so one code is never sent to AWS twice, even by another process.
 */
import { writeFileAtomic } from "../fs/atomic.ts";
import { bytesToHex } from "../encoding.ts";

/** TOTP codes change every 30 seconds. */
export const TOTP_WINDOW_MS = 30_000;

/** The last use of a device. */
export interface CodeUse {
  /** `floor(unix ms / 30 s)` when the code was sent. */
  window: number;
  /** Hash of serial and code. */
  codeHash: string;
}

/** Where uses are remembered. */
export interface UsedCodeLedger {
  lastUse(serial: string): Promise<CodeUse | undefined>;
  record(serial: string, use: CodeUse): Promise<void>;
  /**
   * Check and record in one step: records `use` unless the device's last use was the same code
   * within `withinWindows` TOTP windows; then returns that last use and records nothing.
   */
  claim(serial: string, use: CodeUse, withinWindows: number): Promise<CodeUse | undefined>;
}

/** Whether `use` repeats `last` (same code, close enough in time for AWS to refuse it). */
export function repeats(last: CodeUse | undefined, use: CodeUse, withinWindows: number): boolean {
  return last !== undefined && last.codeHash === use.codeHash &&
    use.window - last.window <= withinWindows;
}

/** A hash of a code for one device (hex, truncated: enough to compare, not to store a code). */
export async function codeHash(serial: string, code: string): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`${serial}\n${code}`),
  );
  return bytesToHex(new Uint8Array(digest).subarray(0, 12));
}

/** A ledger in memory (one process). */
export function memoryLedger(): UsedCodeLedger {
  const uses = new Map<string, CodeUse>();
  return {
    lastUse: (serial) => Promise.resolve(uses.get(serial)),
    record: (serial, use) => {
      uses.set(serial, use);
      return Promise.resolve();
    },
    claim: (serial, use, withinWindows) => {
      const last = uses.get(serial);
      if (repeats(last, use, withinWindows)) return Promise.resolve(last);
      uses.set(serial, use);
      return Promise.resolve(undefined);
    },
  };
}

/**
 * A ledger in a small JSON file (0600, written atomically); a bad file counts as empty. `lock`
 * serialises the read-modify-write across processes, so two processes recording different
 * devices at once never drop one another's entry.
 */
export function fileLedger(
  path: string,
  lock: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn(),
): UsedCodeLedger {
  const read = async (): Promise<Record<string, CodeUse>> => {
    try {
      const data = JSON.parse(await Deno.readTextFile(path));
      return typeof data === "object" && data !== null && !Array.isArray(data) ? data : {};
    } catch {
      return {};
    }
  };
  const keyOf = (serial: string) => codeHash("device", serial);
  const valid = (entry: CodeUse | undefined) =>
    entry && typeof entry.window === "number" && typeof entry.codeHash === "string"
      ? entry
      : undefined;
  const write = async (all: Record<string, CodeUse>, serial: string, use: CodeUse) => {
    const cutoff = use.window - 10;
    for (const [k, v] of Object.entries(all)) if (!(v?.window > cutoff)) delete all[k];
    all[await keyOf(serial)] = use;
    const dir = path.slice(0, path.lastIndexOf("/")) || ".";
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, JSON.stringify(all), { mode: 0o600 });
  };
  return {
    async lastUse(serial) {
      return valid((await read())[await keyOf(serial)]);
    },
    record: (serial, use) => lock(async () => await write(await read(), serial, use)),
    claim: (serial, use, withinWindows) =>
      lock(async () => {
        const all = await read();
        const last = valid(all[await keyOf(serial)]);
        if (repeats(last, use, withinWindows)) return last;
        await write(all, serial, use);
        return undefined;
      }),
  };
}
