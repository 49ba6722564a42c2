/**
 * D-Bus messages: the fixed header, the header fields and the body, framed and bounded (the
 * specification's "Message Format"). Written little-endian; both byte orders are read.
 */
import { type DbusValue, DbusWireError, Reader, type Variant, Writer } from "./wire.ts";

/** Message types. */
export const MessageType = {
  METHOD_CALL: 1,
  METHOD_RETURN: 2,
  ERROR: 3,
  SIGNAL: 4,
} as const;

/** Header flag: the sender wants no reply. */
export const NO_REPLY_EXPECTED = 0x1;

/** One D-Bus message. Absent fields are absent from the header. */
export interface DbusMessage {
  type: number;
  flags?: number;
  serial: number;
  path?: string;
  interface?: string;
  member?: string;
  errorName?: string;
  replySerial?: number;
  destination?: string;
  sender?: string;
  /** The body's signature ("" for no body). */
  signature: string;
  body: DbusValue[];
}

const FIELD = {
  path: [1, "o"],
  interface: [2, "s"],
  member: [3, "s"],
  errorName: [4, "s"],
  replySerial: [5, "u"],
  destination: [6, "s"],
  sender: [7, "s"],
} as const;

/** The specification's limit on a whole message (128 MiB). */
export const SPEC_MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

/** Bytes of the fixed header plus the header-fields length: enough to know the total size. */
export const FRAME_PREFIX_BYTES = 16;

/** Marshals a message (little-endian, protocol version 1). */
export function encodeMessage(m: DbusMessage): Uint8Array {
  const body = new Writer();
  if (m.signature !== "") body.write(m.signature, m.body);
  const fields: [number, Variant][] = [];
  for (const [name, [code, sig]] of Object.entries(FIELD)) {
    const v = m[name as keyof typeof FIELD];
    if (v !== undefined) fields.push([code, { signature: sig, value: v }]);
  }
  if (m.signature !== "") fields.push([8, { signature: "g", value: m.signature }]);
  const w = new Writer();
  w.write("yyyyuua(yv)", [
    "l".charCodeAt(0),
    m.type,
    m.flags ?? 0,
    1,
    body.length,
    m.serial,
    fields,
  ]);
  w.align(8);
  const head = w.bytes();
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body.bytes(), head.length);
  return out;
}

/**
 * The total size of the message that starts `bytes`, from its first 16 bytes; undefined while
 * fewer are there. Throws DbusWireError on a bad byte-order mark or version.
 */
export function frameLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < FRAME_PREFIX_BYTES) return undefined;
  const le = byteOrder(bytes[0]);
  if (bytes[3] !== 1) throw new DbusWireError(`unsupported D-Bus protocol version ${bytes[3]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, FRAME_PREFIX_BYTES);
  const bodyLength = view.getUint32(4, le);
  const fieldsLength = view.getUint32(12, le);
  const headerEnd = FRAME_PREFIX_BYTES + fieldsLength;
  return headerEnd + ((8 - headerEnd % 8) % 8) + bodyLength;
}

/** Unmarshals one whole message (as long as frameLength said). Throws DbusWireError. */
export function decodeMessage(bytes: Uint8Array): DbusMessage {
  const le = byteOrder(bytes[0]);
  const r = new Reader(bytes, { littleEndian: le });
  const [, type, flags, , bodyLength, serial, fields] = r.read("yyyyuua(yv)") as [
    number,
    number,
    number,
    number,
    number,
    number,
    [number, Variant][],
  ];
  const m: DbusMessage = { type, flags, serial, signature: "", body: [] };
  for (const [code, variant] of fields) {
    const known = Object.entries(FIELD).find(([, [c]]) => c === code);
    if (known) {
      const [name, [, sig]] = known;
      if (variant.signature !== sig) {
        throw new DbusWireError(`header field ${code} has type '${variant.signature}'`);
      }
      (m as unknown as Record<string, DbusValue>)[name] = variant.value;
    } else if (code === 8) {
      if (variant.signature !== "g") throw new DbusWireError("signature field is not 'g'");
      m.signature = variant.value as string;
    } // Unknown fields (and UNIX_FDS) are ignored, as the specification asks.
  }
  r.align(8);
  const bodyStart = r.offset;
  if (bodyStart + bodyLength !== bytes.length) throw new DbusWireError("message length mismatch");
  if (m.signature !== "") {
    const body = new Reader(bytes.subarray(bodyStart), { littleEndian: le });
    m.body = body.read(m.signature);
    if (body.offset !== bodyLength) throw new DbusWireError("message body has trailing bytes");
  } else if (bodyLength !== 0) {
    throw new DbusWireError("message has a body but no signature");
  }
  if (serial === 0) throw new DbusWireError("message serial is 0");
  return m;
}

function byteOrder(mark: number): boolean {
  if (mark === 0x6c) return true; // 'l'
  if (mark === 0x42) return false; // 'B'
  throw new DbusWireError(`bad D-Bus byte-order mark 0x${mark.toString(16)}`);
}
