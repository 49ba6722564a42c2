/**
 * The D-Bus wire format (little-endian marshalling of the D-Bus type system), enough for the
 * Secret Service and kwallet: y b n q i u x t s o g, arrays, structs, dict entries and variants.
 * Written from the D-Bus specification ("Marshaling (Wire Format)"); no D-Bus library fits
 * Deno without CommonJS and node:net.
 */

/** A variant: its signature and value. */
export interface Variant {
  signature: string;
  value: DbusValue;
}

/** A value of the D-Bus type system as this codec represents it. */
export type DbusValue =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | Variant
  | DbusValue[]
  | Map<DbusValue, DbusValue>;

/** Thrown on malformed signatures or messages. */
export class DbusWireError extends Error {}

const ALIGN: Record<string, number> = {
  y: 1,
  b: 4,
  n: 2,
  q: 2,
  i: 4,
  u: 4,
  x: 8,
  t: 8,
  d: 8,
  s: 4,
  o: 4,
  g: 1,
  a: 4,
  "(": 8,
  "{": 8,
  v: 1,
  h: 4,
};

/** Splits a signature into its complete types. */
export function splitSignature(signature: string): string[] {
  const types: string[] = [];
  let i = 0;
  while (i < signature.length) {
    const end = typeEnd(signature, i);
    types.push(signature.slice(i, end));
    i = end;
  }
  return types;
}

function typeEnd(sig: string, i: number, depth = 0): number {
  if (depth > 64) throw new DbusWireError("signature nested too deeply");
  const c = sig[i];
  if (c === undefined) throw new DbusWireError(`incomplete signature '${sig}'`);
  if (c === "a") return typeEnd(sig, i + 1, depth + 1);
  if (c === "(" || c === "{") {
    const close = c === "(" ? ")" : "}";
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new DbusWireError(`unclosed '${c}' in signature '${sig}'`);
      j = typeEnd(sig, j, depth + 1);
    }
    return j + 1;
  }
  if (!(c in ALIGN)) throw new DbusWireError(`unknown type '${c}' in signature '${sig}'`);
  return i + 1;
}

/** Appends marshalled values to a growing little-endian buffer. */
export class Writer {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  length = 0;

  /** The bytes written so far. */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }

  #room(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.length + n));
    next.set(this.#buf);
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Pads with zero bytes to a multiple of n. */
  align(n: number): void {
    const pad = (n - (this.length % n)) % n;
    this.#room(pad);
    this.length += pad; // the buffer is zero-filled
  }

  #u32(v: number): void {
    this.align(4);
    this.#room(4);
    this.#view.setUint32(this.length, v, true);
    this.length += 4;
  }

  #raw(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }

  /** Writes values for a signature of one or more complete types. */
  write(signature: string, values: DbusValue[]): void {
    const types = splitSignature(signature);
    if (types.length !== values.length) {
      throw new DbusWireError(`signature '${signature}' needs ${types.length} values`);
    }
    types.forEach((t, i) => this.#one(t, values[i]));
  }

  #one(t: string, v: DbusValue): void {
    const c = t[0];
    switch (c) {
      case "y":
        this.#room(1);
        this.#buf[this.length++] = Number(v) & 0xff;
        return;
      case "b":
        return this.#u32(v ? 1 : 0);
      case "n":
      case "q":
        this.align(2);
        this.#room(2);
        c === "n"
          ? this.#view.setInt16(this.length, Number(v), true)
          : this.#view.setUint16(this.length, Number(v), true);
        this.length += 2;
        return;
      case "i":
        this.align(4);
        this.#room(4);
        this.#view.setInt32(this.length, Number(v), true);
        this.length += 4;
        return;
      case "u":
      case "h":
        return this.#u32(Number(v));
      case "x":
      case "t":
        this.align(8);
        this.#room(8);
        c === "x"
          ? this.#view.setBigInt64(this.length, BigInt(v as number), true)
          : this.#view.setBigUint64(this.length, BigInt(v as number), true);
        this.length += 8;
        return;
      case "d":
        this.align(8);
        this.#room(8);
        this.#view.setFloat64(this.length, Number(v), true);
        this.length += 8;
        return;
      case "s":
      case "o": {
        const b = new TextEncoder().encode(String(v));
        this.#u32(b.length);
        this.#raw(b);
        this.#raw(new Uint8Array(1));
        return;
      }
      case "g": {
        const b = new TextEncoder().encode(String(v));
        if (b.length > 255) throw new DbusWireError("signature longer than 255 bytes");
        this.#room(1);
        this.#buf[this.length++] = b.length;
        this.#raw(b);
        this.#raw(new Uint8Array(1));
        return;
      }
      case "v": {
        const variant = v as Variant;
        this.#one("g", variant.signature);
        this.#one(variant.signature, variant.value);
        return;
      }
      case "(": {
        this.align(8);
        const inner = splitSignature(t.slice(1, -1));
        const vs = v as DbusValue[];
        inner.forEach((it, i) => this.#one(it, vs[i]));
        return;
      }
      case "a": {
        const elem = t.slice(1);
        this.#u32(0);
        const lengthAt = this.length - 4;
        this.align(ALIGN[elem[0]]);
        const start = this.length;
        if (elem[0] === "{") {
          const [kt, vt] = splitSignature(elem.slice(1, -1));
          for (const [k, val] of v as Map<DbusValue, DbusValue>) {
            this.align(8);
            this.#one(kt, k);
            this.#one(vt, val);
          }
        } else if (elem === "y" && v instanceof Uint8Array) {
          this.#raw(v);
        } else {
          for (const e of v as DbusValue[]) this.#one(elem, e);
        }
        this.#view.setUint32(lengthAt, this.length - start, true);
        return;
      }
    }
    throw new DbusWireError(`cannot write type '${t}'`);
  }
}

/** Reads marshalled values from a buffer; `littleEndian` follows the message's flag. */
export class Reader {
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  readonly #le: boolean;
  offset: number;

  constructor(bytes: Uint8Array, options: { littleEndian?: boolean; offset?: number } = {}) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#le = options.littleEndian ?? true;
    this.offset = options.offset ?? 0;
  }

  /** Skips padding up to a multiple of n. */
  align(n: number): void {
    this.offset += (n - (this.offset % n)) % n;
    this.#need(0);
  }

  #need(n: number): void {
    if (this.offset + n > this.#bytes.length) throw new DbusWireError("message truncated");
  }

  /** Reads values of a signature of one or more complete types. */
  read(signature: string): DbusValue[] {
    return splitSignature(signature).map((t) => this.#one(t, 0));
  }

  #u32(): number {
    this.align(4);
    this.#need(4);
    const v = this.#view.getUint32(this.offset, this.#le);
    this.offset += 4;
    return v;
  }

  #one(t: string, depth: number): DbusValue {
    if (depth > 64) throw new DbusWireError("value nested too deeply");
    const c = t[0];
    switch (c) {
      case "y":
        this.#need(1);
        return this.#bytes[this.offset++];
      case "b":
        return this.#u32() !== 0;
      case "n":
      case "q": {
        this.align(2);
        this.#need(2);
        const v = c === "n"
          ? this.#view.getInt16(this.offset, this.#le)
          : this.#view.getUint16(this.offset, this.#le);
        this.offset += 2;
        return v;
      }
      case "i": {
        this.align(4);
        this.#need(4);
        const v = this.#view.getInt32(this.offset, this.#le);
        this.offset += 4;
        return v;
      }
      case "u":
      case "h":
        return this.#u32();
      case "x":
      case "t": {
        this.align(8);
        this.#need(8);
        const v = c === "x"
          ? this.#view.getBigInt64(this.offset, this.#le)
          : this.#view.getBigUint64(this.offset, this.#le);
        this.offset += 8;
        return v;
      }
      case "d": {
        this.align(8);
        this.#need(8);
        const v = this.#view.getFloat64(this.offset, this.#le);
        this.offset += 8;
        return v;
      }
      case "s":
      case "o":
      case "g": {
        let n: number;
        if (c === "g") {
          this.#need(1);
          n = this.#bytes[this.offset++];
        } else n = this.#u32();
        this.#need(n + 1);
        let s: string;
        try {
          s = new TextDecoder("utf-8", { fatal: true }).decode(
            this.#bytes.subarray(this.offset, this.offset + n),
          );
        } catch {
          throw new DbusWireError("string is not valid UTF-8");
        }
        this.offset += n + 1;
        return s;
      }
      case "v": {
        const signature = this.#one("g", depth + 1) as string;
        if (splitSignature(signature).length !== 1) {
          throw new DbusWireError(`variant signature '${signature}' is not one type`);
        }
        return { signature, value: this.#one(signature, depth + 1) };
      }
      case "(": {
        this.align(8);
        return splitSignature(t.slice(1, -1)).map((it) => this.#one(it, depth + 1));
      }
      case "a": {
        const n = this.#u32();
        if (n > 1 << 26) throw new DbusWireError("array longer than 64 MiB");
        const elem = t.slice(1);
        this.align(ALIGN[elem[0]]);
        const end = this.offset + n;
        this.#need(n);
        if (elem === "y") {
          const b = this.#bytes.slice(this.offset, end);
          this.offset = end;
          return b;
        }
        if (elem[0] === "{") {
          const [kt, vt] = splitSignature(elem.slice(1, -1));
          const m = new Map<DbusValue, DbusValue>();
          while (this.offset < end) {
            this.align(8);
            const k = this.#one(kt, depth + 1);
            m.set(k, this.#one(vt, depth + 1));
          }
          return m;
        }
        const out: DbusValue[] = [];
        while (this.offset < end) out.push(this.#one(elem, depth + 1));
        if (this.offset !== end) throw new DbusWireError("array element overran its length");
        return out;
      }
    }
    throw new DbusWireError(`cannot read type '${t}'`);
  }
}
