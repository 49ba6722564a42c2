/**
 * The credential agent's wire protocol: one JSON object per line each way, over a Unix socket.
 * Every request carries the protocol version `v`; a reply carries `ok` and, when false, an
 * error `code` and a one-line `message`. A request line longer than MAX_REQUEST_BYTES is refused
 * and its connection closed (nothing after it can be framed). Items travel as aws-vault's Item
 * JSON (backends/item_json.ts), so the wire adds no second encoding of them.
 */

/** The protocol version this build speaks. */
export const AGENT_PROTOCOL_VERSION = 1;
/** The longest request line the agent reads (an item file is a few KiB). */
export const MAX_REQUEST_BYTES = 1 << 20;
/** The longest reply line a client reads. */
export const MAX_REPLY_BYTES = 4 << 20;

/** What a client may ask. `dir` names the vault directory the client means. */
export type AgentRequest =
  | { v: number; op: "status" }
  | { v: number; op: "lock" }
  | { v: number; op: "stop" }
  | { v: number; op: "unlock"; dir: string; passphrase: string }
  | { v: number; op: "decrypt"; dir: string; path: string; jwe: string }
  | { v: number; op: "encrypt"; dir: string; item: string; keyHeader?: string };

/** Error codes of a failed reply. */
export type AgentErrorCode =
  | "bad-request"
  | "too-large"
  | "unsupported-version"
  | "busy"
  | "locked"
  | "wrong-vault"
  | "wrong-passphrase"
  | "cannot-decrypt"
  | "invalid-item"
  | "internal";

/** What `status` answers. */
export interface AgentStatus {
  pid: number;
  /** The vault directory it serves. */
  dir: string;
  locked: boolean;
  /** Epoch milliseconds. */
  startedAt: number;
  /** When it locks if left idle (epoch ms), when unlocked and an idle limit is set. */
  locksAt?: number;
  /** When it exits (epoch ms), when a timeout is set. */
  exitsAt?: number;
  /** Decrypted items it holds in memory. */
  cachedItems: number;
}

/** A reply. */
export type AgentReply =
  | { v: number; ok: true; status?: AgentStatus; item?: string; jwe?: string }
  | { v: number; ok: false; code: AgentErrorCode; message: string };

/** A failed reply. */
export function errorReply(code: AgentErrorCode, message: string): AgentReply {
  return { v: AGENT_PROTOCOL_VERSION, ok: false, code, message };
}

/** Parses one request line; a failed reply says what is wrong with it. */
export function parseRequest(line: string): AgentRequest | AgentReply & { ok: false } {
  const bad = (message: string) => errorReply("bad-request", message) as AgentReply & { ok: false };
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return bad("request is not JSON");
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return bad("request is not a JSON object");
  }
  const r = raw as Record<string, unknown>;
  if (r.v !== AGENT_PROTOCOL_VERSION) {
    return errorReply(
      "unsupported-version",
      `protocol version ${
        JSON.stringify(r.v)
      } is not supported (this agent speaks ${AGENT_PROTOCOL_VERSION})`,
    ) as AgentReply & { ok: false };
  }
  const strings = (...names: string[]): string | undefined => {
    for (const n of names) if (typeof r[n] !== "string") return `field ${n} must be a string`;
    return undefined;
  };
  let problem: string | undefined;
  switch (r.op) {
    case "status":
    case "lock":
    case "stop":
      return { v: r.v, op: r.op };
    case "unlock":
      problem = strings("dir", "passphrase");
      break;
    case "decrypt":
      problem = strings("dir", "path", "jwe");
      break;
    case "encrypt":
      problem = strings("dir", "item") ??
        (r.keyHeader === undefined || typeof r.keyHeader === "string"
          ? undefined
          : "field keyHeader must be a string");
      break;
    default:
      return bad(`unknown op ${JSON.stringify(r.op)}`.slice(0, 200));
  }
  return problem ? bad(problem) : r as AgentRequest;
}

/** A line longer than the reader's limit arrived. */
export class LineTooLong extends Error {}

/** Reads newline-terminated lines from a byte source, refusing lines over `limit` bytes. */
export class LineReader {
  readonly #source: { read(p: Uint8Array): Promise<number | null> };
  readonly #limit: number;
  #buffer = new Uint8Array(0);
  #eof = false;

  constructor(source: { read(p: Uint8Array): Promise<number | null> }, limit: number) {
    this.#source = source;
    this.#limit = limit;
  }

  /** The next line without its newline; undefined at the end (a half line is dropped). */
  async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      const nl = this.#buffer.indexOf(10);
      if (nl > this.#limit) throw new LineTooLong();
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        return line;
      }
      if (this.#buffer.length > this.#limit) throw new LineTooLong();
      if (this.#eof) return undefined;
      const chunk = new Uint8Array(64 * 1024);
      const n = await this.#source.read(chunk);
      if (n === null) {
        this.#eof = true;
        continue;
      }
      const joined = new Uint8Array(this.#buffer.length + n);
      joined.set(this.#buffer);
      joined.set(chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = joined;
    }
  }
}

/** Writes all of `data`. */
export async function writeAll(
  sink: { write(p: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  let rest = data;
  while (rest.length > 0) rest = rest.subarray(await sink.write(rest));
}

/** One JSON value and a newline, as bytes. */
export function encodeLine(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value) + "\n");
}
