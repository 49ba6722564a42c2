/**
 * A loopback unix-socket stand-in for a D-Bus bus, for the tests of backends/dbus that need a
 * bus misbehaving on purpose: hanging, refusing authentication, sending garbage, oversized or
 * unsolicited messages, dying mid-call. It answers Hello, AddMatch and RemoveMatch itself and
 * hands every other method call to the test's handler. The real dbus-daemon covers the rest.
 */
import {
  type DbusMessage,
  decodeMessage,
  encodeMessage,
  frameLength,
  MessageType,
} from "../../backends/dbus/message.ts";
import type { DbusValue } from "../../backends/dbus/wire.ts";

/** How the stand-in answers the authentication exchange. */
export type AuthMode = "ok" | "reject" | "hang" | "garbage" | "long-line" | "close";

/** What a handler can do to the client that sent a call. */
export interface StandInPeer {
  /** Sends a METHOD_RETURN to `call`. */
  reply(call: DbusMessage, signature?: string, body?: DbusValue[]): Promise<void>;
  /** Sends an ERROR reply to `call`. */
  error(call: DbusMessage, name: string, text: string): Promise<void>;
  /** Sends a signal. */
  signal(fields: Partial<DbusMessage>): Promise<void>;
  /** Sends raw bytes. */
  raw(bytes: Uint8Array): Promise<void>;
  /** Closes the client's connection. */
  close(): void;
}

/** Options of the stand-in. */
export interface StandInOptions {
  auth?: AuthMode;
  /** The GUID it announces. */
  guid?: string;
  /** Listen on an abstract socket (Linux) instead of a file. */
  abstract?: boolean;
  /** Called for each method call other than Hello/AddMatch/RemoveMatch; default: no answer. */
  onCall?: (call: DbusMessage, peer: StandInPeer) => void | Promise<void>;
  /** Called for each message the client sends that is not a method call. */
  onOther?: (m: DbusMessage) => void;
}

/** A running stand-in. */
export interface DbusStandIn {
  /** The D-Bus address clients use. */
  address: string;
  /** Match rules clients added. */
  matchRules: string[];
  close(): Promise<void>;
}

export const STAND_IN_GUID = "0123456789abcdef0123456789abcdef";

/** Starts a stand-in bus on a socket in a fresh temp dir (or an abstract socket). */
export async function startDbusStandIn(options: StandInOptions = {}): Promise<DbusStandIn> {
  const dir = await Deno.makeTempDir({ prefix: "awsvault-dbus-" });
  const name = `${dir}/bus`;
  const path = options.abstract ? `\0${name}` : name;
  const listener = Deno.listen({ transport: "unix", path });
  const conns = new Set<Deno.Conn>();
  const matchRules: string[] = [];
  const guid = options.guid ?? STAND_IN_GUID;
  let serial = 1000;
  const serving: Promise<void>[] = [];

  const serve = async (conn: Deno.Conn) => {
    conns.add(conn);
    const enc = new TextEncoder();
    const write = async (bytes: Uint8Array) => {
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    };
    const send = (m: Omit<DbusMessage, "serial">) =>
      write(encodeMessage({ ...m, serial: ++serial }));
    const peer: StandInPeer = {
      reply: (call, signature = "", body = []) =>
        send({
          type: MessageType.METHOD_RETURN,
          replySerial: call.serial,
          destination: ":1.1",
          signature,
          body,
        }),
      error: (call, errorName, text) =>
        send({
          type: MessageType.ERROR,
          replySerial: call.serial,
          errorName,
          signature: "s",
          body: [text],
        }),
      signal: (fields) => send({ type: MessageType.SIGNAL, signature: "", body: [], ...fields }),
      raw: write,
      close: () => {
        try {
          conn.close();
        } catch { /* closed */ }
      },
    };
    try {
      let buf = new Uint8Array(0);
      const more = async (): Promise<boolean> => {
        const chunk = new Uint8Array(65536);
        const n = await conn.read(chunk);
        if (n === null) return false;
        const next = new Uint8Array(buf.length + n);
        next.set(buf);
        next.set(chunk.subarray(0, n), buf.length);
        buf = next;
        return true;
      };
      // Authentication: the NUL byte and AUTH line, then BEGIN.
      while (!new TextDecoder().decode(buf).includes("\r\n")) if (!await more()) return;
      const mode = options.auth ?? "ok";
      if (mode === "hang") {
        await more(); // until the client gives up and closes
        return;
      }
      if (mode === "close") return;
      if (mode === "reject") return await write(enc.encode("REJECTED ANONYMOUS\r\n"));
      if (mode === "garbage") return await write(enc.encode("HTTP/1.1 400 Bad Request\r\n"));
      if (mode === "long-line") return await write(enc.encode("x".repeat(4096)));
      await write(enc.encode(`OK ${guid}\r\n`));
      while (!new TextDecoder().decode(buf).includes("BEGIN\r\n")) if (!await more()) return;
      buf = buf.slice(new TextDecoder().decode(buf).indexOf("BEGIN\r\n") + 7);
      for (;;) {
        const size = frameLength(buf);
        if (size === undefined || buf.length < size) {
          if (!await more()) return;
          continue;
        }
        const m = decodeMessage(buf.subarray(0, size));
        buf = buf.slice(size);
        if (m.type !== MessageType.METHOD_CALL) {
          options.onOther?.(m);
        } else if (m.member === "Hello") await peer.reply(m, "s", [":1.1"]);
        else if (m.member === "AddMatch" || m.member === "RemoveMatch") {
          if (m.member === "AddMatch") matchRules.push(String(m.body[0]));
          await peer.reply(m);
        } else await options.onCall?.(m, peer);
      }
    } catch {
      // The client went away.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed */ }
    }
  };

  const accepting = (async () => {
    for await (const conn of listener) serving.push(serve(conn));
  })().catch(() => {});

  return {
    address: options.abstract ? `unix:abstract=${name}` : `unix:path=${name}`,
    matchRules,
    close: async () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
      await Promise.all(serving);
      await Deno.remove(dir, { recursive: true });
    },
  };
}
