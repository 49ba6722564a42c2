/** Checks every credential server makes: who is asking, and with which secret. */
import { bytesToBase64Url } from "../encoding.ts";

/** Whether an IP address is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const encoder = new TextEncoder();

/** Compares two secrets in time that depends only on their lengths, not on where they differ. */
export function constantTimeEqual(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ b[i];
  return diff === 0;
}

/** `bytes` random bytes as base64url without padding (30 bytes: aws-vault's 40-char token). */
export function randomToken(bytes = 30): string {
  return bytesToBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}
