/**
 * A small HTTP/1.1 server for the credential servers, over Deno.listen. Deno.serve bounds the
 * header size but has no header timeout: a client that never finishes its request holds a
 * connection forever (slow-loris). Our requests are tiny GETs and PUTs, so this server reads
 * only what they need and bounds everything: head size, header count, body size, the time to
 * send a request, idle keep-alive time and the number of open connections.
 */

/** A parsed request. */
export interface HttpRequest {
  method: string;
  /** The request target as sent (path and query). */
  target: string;
  /** The path without the query. */
  path: string;
  headers: Headers;
  /** The peer's address. */
  remote: Deno.NetAddr;
}

/** A reply. */
export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Answers one request. */
export type HttpHandler = (req: HttpRequest) => HttpReply | Promise<HttpReply>;

/** The bounds (defaults in DEFAULT_LIMITS). */
export interface HttpLimits {
  /** Request line plus headers. */
  maxHeadBytes: number;
  maxHeaders: number;
  maxBodyBytes: number;
  /** Time to receive a whole request once its first byte arrived. */
  headerTimeoutMs: number;
  /** Time an open connection may wait for its next request. */
  idleTimeoutMs: number;
  maxConnections: number;
}

/** Bounds that fit credential requests with plenty of room. */
export const DEFAULT_LIMITS: HttpLimits = {
  maxHeadBytes: 8192,
  maxHeaders: 64,
  maxBodyBytes: 1024,
  headerTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  maxConnections: 256,
};

/** Options of serveHttp. */
export interface ServeOptions {
  hostname: string;
  port: number;
  handler: HttpHandler;
  limits?: Partial<HttpLimits>;
  /** One line per request and per rejected connection; never gets secrets. */
  log?: (line: string) => void;
}

/** A running server. */
export interface HttpServer {
  addr: Deno.NetAddr;
  /** Stops accepting, closes every connection and waits for them. */
  close(): Promise<void>;
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Why a request is refused before it reaches the handler. */
class BadRequest extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Listens on hostname:port (port 0: any free port) and serves until closed. */
export function serveHttp(options: ServeOptions): HttpServer {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.log ?? (() => {});
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const open = new Set<Deno.Conn>();
  /** Connections whose request is being answered. */
  const busy = new Set<Deno.Conn>();
  const done = new Set<Promise<void>>();
  let closing = false;

  const acceptLoop = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        if (closing) return;
        continue;
      }
      if (open.size >= limits.maxConnections) {
        // Full: drop the oldest connection that is not being answered (an idle or slow one),
        // so connections that never finish a request cannot lock everyone else out.
        const victim = [...open].find((c) => !busy.has(c));
        if (victim) {
          log(`http: ${addrText(victim.remoteAddr)}: too many connections, oldest closed`);
          open.delete(victim);
          closeQuietly(victim);
        } else {
          closeQuietly(conn);
          continue;
        }
      }
      open.add(conn);
      const p = serveConnection(conn, options.handler, limits, log, busy).finally(() => {
        open.delete(conn);
        busy.delete(conn);
        closeQuietly(conn);
        done.delete(p);
      });
      done.add(p);
    }
  })();

  return {
    addr: listener.addr as Deno.NetAddr,
    async close() {
      closing = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const c of open) closeQuietly(c);
      await acceptLoop;
      await Promise.allSettled([...done]);
    },
  };
}

async function serveConnection(
  conn: Deno.Conn,
  handler: HttpHandler,
  limits: HttpLimits,
  log: (line: string) => void,
  busy: Set<Deno.Conn>,
): Promise<void> {
  const remote = conn.remoteAddr as Deno.NetAddr;
  let buffered = new Uint8Array(0);
  let timer: number | undefined;
  let timedOut = false;
  const arm = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      closeQuietly(conn);
    }, ms) as unknown as number;
  };
  const chunk = new Uint8Array(4096);
  /** Reads more bytes into `buffered`; false at end of stream. */
  const readMore = async (): Promise<boolean> => {
    let n: number | null;
    try {
      n = await conn.read(chunk);
    } catch {
      return false;
    }
    if (n === null) return false;
    const next = new Uint8Array(buffered.length + n);
    next.set(buffered);
    next.set(chunk.subarray(0, n), buffered.length);
    buffered = next;
    return true;
  };
  try {
    for (;;) {
      arm(limits.idleTimeoutMs);
      if (buffered.length === 0 && !(await readMore())) return;
      arm(limits.headerTimeoutMs);
      let end = headEnd(buffered);
      while (end < 0) {
        if (buffered.length > limits.maxHeadBytes) {
          throw new BadRequest(431, "request head too large");
        }
        if (!(await readMore())) {
          if (timedOut) log(`http: ${addrText(remote)}: request not sent in time, closed`);
          return;
        }
        end = headEnd(buffered);
      }
      if (end > limits.maxHeadBytes) throw new BadRequest(431, "request head too large");
      const head = parseHead(decoder.decode(buffered.subarray(0, end)), limits);
      buffered = buffered.subarray(end + 4);
      // Bodies are not used by any route; read and drop a small one so keep-alive stays in step.
      if (head.bodyBytes > 0) {
        while (buffered.length < head.bodyBytes) {
          if (!(await readMore())) return;
        }
        buffered = buffered.subarray(head.bodyBytes);
      }
      // Answering and writing are bounded too: a client that never reads its replies must not
      // hold a connection (and its place among maxConnections) forever.
      arm(limits.headerTimeoutMs);
      const req: HttpRequest = {
        method: head.method,
        target: head.target,
        path: head.target.split("?")[0],
        headers: head.headers,
        remote,
      };
      let reply: HttpReply;
      busy.add(conn);
      try {
        reply = await handler(req);
      } catch {
        reply = { status: 500, body: "internal error\n" };
      }
      log(`http: ${addrText(remote)}: ${reply.status} ${req.method} ${req.path}`);
      await writeReply(conn, reply, head.keepAlive, req.method === "HEAD");
      busy.delete(conn);
      if (!head.keepAlive) return;
    }
  } catch (err) {
    if (err instanceof BadRequest) {
      log(`http: ${addrText(remote)}: ${err.status} (${err.message})`);
      await writeReply(conn, { status: err.status, body: `${err.message}\n` }, false, false)
        .catch(() => {});
    }
  } finally {
    clearTimeout(timer);
  }
}

interface Head {
  method: string;
  target: string;
  headers: Headers;
  keepAlive: boolean;
  bodyBytes: number;
}

function headEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

function parseHead(text: string, limits: HttpLimits): Head {
  const lines = text.split("\r\n");
  const parts = lines[0].split(" ");
  if (parts.length !== 3 || !TOKEN.test(parts[0]) || !parts[1].startsWith("/")) {
    throw new BadRequest(400, "malformed request line");
  }
  const [method, target, version] = parts;
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new BadRequest(505, "unsupported HTTP version");
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x20\x7f-\uffff]/.test(target)) throw new BadRequest(400, "malformed request target");
  if (lines.length - 1 > limits.maxHeaders) throw new BadRequest(431, "too many headers");
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) throw new BadRequest(400, "malformed header");
    const value = line.slice(colon + 1).trim();
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new BadRequest(400, "malformed header");
    const lower = name.toLowerCase();
    if ((lower === "host" || lower === "content-length") && headers.has(lower)) {
      throw new BadRequest(400, `repeated ${lower} header`);
    }
    try {
      headers.append(lower, value);
    } catch {
      // Headers takes Latin-1 only: a UTF-8 or garbled value would end the connection unanswered.
      throw new BadRequest(400, "malformed header");
    }
  }
  if (version === "HTTP/1.1" && !headers.has("host")) throw new BadRequest(400, "no Host header");
  if (headers.has("transfer-encoding")) {
    throw new BadRequest(501, "request bodies are not accepted");
  }
  let bodyBytes = 0;
  const length = headers.get("content-length");
  if (length !== null) {
    if (!/^\d{1,9}$/.test(length)) throw new BadRequest(400, "malformed Content-Length");
    bodyBytes = Number(length);
    if (bodyBytes > limits.maxBodyBytes) throw new BadRequest(413, "request body too large");
  }
  const connection = (headers.get("connection") ?? "").toLowerCase();
  const keepAlive = version === "HTTP/1.1"
    ? !connection.includes("close")
    : connection.includes("keep-alive");
  return { method, target, headers, keepAlive, bodyBytes };
}

async function writeReply(
  conn: Deno.Conn,
  reply: HttpReply,
  keepAlive: boolean,
  headOnly: boolean,
): Promise<void> {
  const body = encoder.encode(reply.body ?? "");
  const headers: Record<string, string> = {
    "content-type": "text/plain; charset=utf-8",
    ...lowerKeys(reply.headers ?? {}),
    "content-length": String(body.length),
    connection: keepAlive ? "keep-alive" : "close",
  };
  let head = `HTTP/1.1 ${reply.status} ${REASONS[reply.status] ?? "Unknown"}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const headBytes = encoder.encode(`${head}\r\n`);
  const out = new Uint8Array(headBytes.length + (headOnly ? 0 : body.length));
  out.set(headBytes);
  if (!headOnly) out.set(body, headBytes.length);
  let rest = out;
  while (rest.length > 0) rest = rest.subarray(await conn.write(rest));
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function addrText(a: Deno.Addr): string {
  const n = a as Deno.NetAddr;
  return n.hostname?.includes(":") ? `[${n.hostname}]:${n.port}` : `${n.hostname}:${n.port}`;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
