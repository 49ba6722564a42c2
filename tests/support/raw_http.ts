/** Raw HTTP/1.1 over TCP, for requests no well-behaved client would send. */

/** A reply: status code and the whole text (empty if the server closed without a reply). */
export interface RawReply {
  status: number;
  text: string;
}

/** Sends `request` verbatim and reads until the server closes or one reply is complete. */
export async function rawRequest(port: number, request: string | Uint8Array): Promise<RawReply> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const data = typeof request === "string" ? new TextEncoder().encode(request) : request;
    await conn.write(data).catch(() => 0);
    return await readReply(conn);
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** Reads one reply (head plus Content-Length body) or until the server closes. */
export async function readReply(conn: Deno.Conn): Promise<RawReply> {
  let text = "";
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
    const end = text.indexOf("\r\n\r\n");
    const len = /content-length: (\d+)/i.exec(text);
    if (end >= 0 && len && text.length >= end + 4 + Number(len[1])) break;
  }
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return { status: m ? Number(m[1]) : 0, text };
}

/** The body of a reply. */
export function bodyOf(reply: RawReply): string {
  const i = reply.text.indexOf("\r\n\r\n");
  return i < 0 ? "" : reply.text.slice(i + 4);
}
