/**
 * Encodings used across layers: base64 (standard and URL-safe), hex, and one-line text. Base64
 * goes through V8's own Uint8Array methods: atob/btoa load a module of Deno's at first use.
 */

/** Standard base64 with padding. */
export function bytesToBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Decodes standard or URL-safe base64, padding optional; throws on anything else. */
export function base64ToBytes(text: string): Uint8Array {
  const standard = text.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.fromBase64(standard, { lastChunkHandling: "loose" });
}

/** URL-safe base64 without padding (RFC 4648 section 5), as aws-vault's session keys use. */
export function bytesToBase64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** The chunks one after another, in one array. */
export function concatBytes(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Longest text decoded without TextDecoder (one String.fromCharCode call). */
const ASCII_FAST_BYTES = 8192;

/**
 * UTF-8 bytes as text, as TextDecoder decodes them (`fatal`: a TypeError for bytes that are not
 * UTF-8). Short ASCII, the JSON that a vault item holds, is decoded without TextDecoder, whose
 * first use costs ~0.3 ms: a cache-hit export decodes two such texts.
 */
export function utf8Text(bytes: Uint8Array, options: { fatal?: boolean } = {}): string {
  if (bytes.length <= ASCII_FAST_BYTES && bytes.every((b) => b < 0x80)) {
    return String.fromCharCode(...bytes);
  }
  return new TextDecoder("utf-8", { fatal: options.fatal ?? false }).decode(bytes);
}

/** Lower-case hex. */
export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Decodes hex (an odd last digit is dropped). */
export function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/**
 * A message spread over lines (a tool's stderr, an SDK error) as one line: lines trimmed, empty
 * ones dropped, joined with spaces; cut to `max` characters when given.
 */
export function oneLine(text: string, max?: number): string {
  const line = text.split("\n").map((l) => l.trim()).filter((l) => l !== "").join(" ");
  return max !== undefined && line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

/**
 * Text with its control characters (C0, DEL, C1) written as `\xNN`: shown on a terminal, it
 * cannot move the cursor, recolour, retitle or overwrite a line, and it stays on one line.
 */
export function escapeControl(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

/** FNV-1a, 64 bits, as 16 hex digits: a stable short name, not a security measure. */
export function fnv1a64Hex(text: string): string {
  // In four 16-bit limbs (low first): BigInt arithmetic costs ~1 ms cold on the cache-hit path.
  // The prime is 2^40 + 0x1b3, so h * prime = h * 0x1b3 + (h << 40).
  // Plain variables and an index loop: this runs cold (interpreted) on every cache hit, where a
  // destructuring assignment per byte allocates (~2 ms for a 1 KB text).
  let h0 = 0x2325, h1 = 0x8422, h2 = 0x9ce4, h3 = 0xcbf2;
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i++) {
    h0 ^= bytes[i];
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (t1 >>> 16) + ((h0 << 8) & 0xffff);
    const t3 = h3 * 0x1b3 + (t2 >>> 16) + (((h1 << 8) | (h0 >>> 8)) & 0xffff);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return [h3, h2, h1, h0].map((h) => h.toString(16).padStart(4, "0")).join("");
}
