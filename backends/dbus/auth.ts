/**
 * The client side of D-Bus authentication (the specification's "Authentication Protocol"):
 * a NUL byte, `AUTH EXTERNAL <uid as hex of its decimal digits>`, the server's
 * `OK <guid>`, then `BEGIN`. Unix file descriptor passing is not negotiated (nothing here needs
 * it). Lines are bounded, so a server that talks garbage cannot make us buffer without end; a
 * server that says nothing is the caller's deadline's business.
 */

/** The part of a socket authentication needs. */
export interface ByteStream {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
}

/** Authentication failed: refused, or the server does not speak the protocol. */
export class DbusAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DbusAuthError";
  }
}

/** What authentication yields. */
export interface AuthResult {
  /** The server's GUID (32 hex digits). */
  guid: string;
  /** Bytes the server sent after its OK line (normally none); the message stream starts here. */
  rest: Uint8Array;
}

/** Longest server line accepted (the specification's commands are short). */
export const MAX_AUTH_LINE_BYTES = 1024;

/** `AUTH EXTERNAL`'s initial response: the uid's decimal digits, each as two hex digits. */
export function externalResponse(uid: number): string {
  return [...String(uid)].map((d) => d.charCodeAt(0).toString(16)).join("");
}

/** Writes all of `bytes`. */
export async function writeAll(stream: ByteStream, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await stream.write(bytes.subarray(off));
}

/**
 * Authenticates as `uid` with EXTERNAL; checks the server's GUID against `expectedGuid` when the
 * address named one. Throws DbusAuthError.
 */
export async function authenticate(
  stream: ByteStream,
  uid: number,
  options: { expectedGuid?: string } = {},
): Promise<AuthResult> {
  const enc = new TextEncoder();
  await writeAll(stream, enc.encode(`\0AUTH EXTERNAL ${externalResponse(uid)}\r\n`));
  const { line, rest } = await readLine(stream);
  const [command, ...args] = line.split(" ");
  if (command === "OK") {
    const guid = args[0] ?? "";
    if (!/^[0-9a-fA-F]{32}$/.test(guid)) {
      throw new DbusAuthError("the bus answered OK without a valid GUID");
    }
    if (options.expectedGuid && options.expectedGuid.toLowerCase() !== guid.toLowerCase()) {
      throw new DbusAuthError(
        `the bus's GUID ${guid} is not the one in its address (${options.expectedGuid})`,
      );
    }
    await writeAll(stream, enc.encode("BEGIN\r\n"));
    return { guid, rest };
  }
  if (command === "REJECTED") {
    throw new DbusAuthError(
      `the bus refused EXTERNAL authentication as uid ${uid}` +
        (args.length ? ` (it offers: ${printable(args.join(" "))})` : ""),
    );
  }
  if (command === "ERROR") {
    throw new DbusAuthError(`the bus reported an authentication error: ${printable(line)}`);
  }
  throw new DbusAuthError(`the bus answered authentication with '${printable(line)}'`);
}

/** Reads one CRLF-terminated ASCII line, and whatever followed it in the same reads. */
async function readLine(stream: ByteStream): Promise<{ line: string; rest: Uint8Array }> {
  const buf = new Uint8Array(MAX_AUTH_LINE_BYTES + 2);
  let len = 0;
  for (;;) {
    const n = await stream.read(buf.subarray(len));
    if (n === null) throw new DbusAuthError("the bus closed the connection during authentication");
    len += n;
    const end = findCrlf(buf, len);
    if (end >= 0) {
      const bytes = buf.subarray(0, end);
      if (bytes.some((b) => b < 0x20 || b > 0x7e)) {
        throw new DbusAuthError("the bus sent a non-ASCII authentication line");
      }
      return { line: new TextDecoder().decode(bytes), rest: buf.slice(end + 2, len) };
    }
    if (len >= buf.length) {
      throw new DbusAuthError(
        `the bus sent an authentication line longer than ${MAX_AUTH_LINE_BYTES} bytes`,
      );
    }
  }
}

function findCrlf(buf: Uint8Array, len: number): number {
  for (let i = 0; i + 1 < len; i++) if (buf[i] === 13 && buf[i + 1] === 10) return i;
  return -1;
}

function printable(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
