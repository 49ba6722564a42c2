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

/** FNV-1a, 64 bits, as 16 hex digits: a stable short name, not a security measure. */
export function fnv1a64Hex(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(text)) {
    hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  }
  return hash.toString(16).padStart(16, "0");
}
