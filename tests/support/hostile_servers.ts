/**
 * Misbehaving servers on loopback for the bounded-everything tests: one that accepts and never
 * answers, one that answers a byte at a time forever, one that sends a huge reply (with or
 * without a Content-Length). Each records how many bytes it managed to send.
 */

/** A running hostile server. */
export interface HostileServer {
  url: string;
  /** Bytes of body written so far (for the oversized kinds). */
  sent(): number;
  close(): Promise<void>;
}

/** The kinds of misbehaviour. */
export type HostileKind = "silent" | "drip" | "huge" | "huge-chunked";

/** Starts a server of this kind on 127.0.0.1. */
export function hostileServer(kind: HostileKind): HostileServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  let sent = 0;
  let closed = false;
  const serve = async (conn: Deno.Conn) => {
    conns.push(conn);
    const enc = new TextEncoder();
    try {
      await conn.read(new Uint8Array(65536)); // the request (enough of it)
      if (kind === "silent") return; // hold the connection, say nothing
      const huge = kind === "huge" || kind === "huge-chunked";
      const head = kind === "huge"
        ? `HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: ${
          200 * 1024 * 1024
        }\r\n\r\n`
        : "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n";
      await conn.write(enc.encode(head));
      const block = enc.encode("<x>" + "A".repeat(65536 - 7) + "</x>");
      while (!closed && (huge ? sent < 200 * 1024 * 1024 : true)) {
        if (kind === "huge") {
          await conn.write(block);
          sent += block.length;
        } else if (kind === "huge-chunked") {
          await conn.write(enc.encode(`${block.length.toString(16)}\r\n`));
          await conn.write(block);
          await conn.write(enc.encode("\r\n"));
          sent += block.length;
        } else {
          await conn.write(enc.encode("1\r\n<\r\n"));
          sent += 1;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } catch {
      // the client gave up: that is the point
    }
  };
  (async () => {
    try {
      for await (const conn of listener) serve(conn);
    } catch {
      // closed
    }
  })();
  const addr = listener.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    sent: () => sent,
    close: async () => {
      closed = true;
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await new Promise((r) => setTimeout(r, 10));
    },
  };
}
