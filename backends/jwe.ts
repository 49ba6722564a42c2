/**
 * Decrypts aws-vault's file-backend JWE (compact, PBES2-HS256+A128KW / A256GCM) with WebCrypto
 * alone. This is the read path of every cached-session command, so it avoids loading an npm
 * package at start-up; writing still goes through jose (backends/file.ts). Tested against jose,
 * jwcrypto and joserfc (tests/integration/backends_file_interop_test.ts).
 */
import { utf8Text } from "../lib/encoding.ts";

/** The JWE does not open with this passphrase (wrong passphrase or tampered data). */
export class JweDecryptionFailed extends Error {
  constructor() {
    super("decryption failed");
    this.name = "JweDecryptionFailed";
  }
}

/** The JWE is malformed or uses something this reader does not accept. */
export class JweInvalid extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JweInvalid";
  }
}

const ALG = "PBES2-HS256+A128KW";
const ENC = "A256GCM";

/** Options of {@link decryptPbes2Jwe}. */
export interface DecryptOptions {
  /** The largest p2c accepted (PBKDF2 iterations): more is refused before any work. */
  maxP2c: number;
}

/** The protected header and plaintext of a compact JWE. */
export interface Decrypted {
  header: Record<string, unknown>;
  plaintext: Uint8Array;
}

/** Base64url without padding, strictly (no padding, no other characters). */
export function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new JweInvalid("invalid base64url");
  }
  // V8's decoder (atob would load a module of Deno's on every cache hit).
  return Uint8Array.fromBase64(text, { alphabet: "base64url", lastChunkHandling: "loose" });
}

/** Decrypts a compact JWE encrypted with PBES2-HS256+A128KW and A256GCM. */
export async function decryptPbes2Jwe(
  jwe: string,
  passphrase: string,
  options: DecryptOptions,
): Promise<Decrypted> {
  const parts = jwe.split(".");
  if (parts.length !== 5) throw new JweInvalid("not a JWE in compact form");
  const [headerText, keyText, ivText, cipherText, tagText] = parts;
  let header: unknown;
  try {
    header = JSON.parse(
      utf8Text(base64UrlDecode(headerText), { fatal: true }),
    );
  } catch {
    throw new JweInvalid("bad JWE header");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new JweInvalid("bad JWE header");
  }
  const h = header as Record<string, unknown>;
  if (h.alg !== ALG || h.enc !== ENC) {
    throw new JweInvalid(`unsupported encryption ${String(h.alg)}/${String(h.enc)}`);
  }
  if ("zip" in h) throw new JweInvalid("compressed JWE is not supported");
  if ("crit" in h) throw new JweInvalid("JWE with critical header parameters is not supported");
  const p2c = h.p2c;
  if (typeof p2c !== "number" || !Number.isInteger(p2c) || p2c < 1) {
    throw new JweInvalid("invalid p2c in the JWE header");
  }
  if (p2c > options.maxP2c) {
    throw new JweInvalid(`p2c ${p2c} exceeds the limit of ${options.maxP2c}`);
  }
  if (typeof h.p2s !== "string") throw new JweInvalid("missing p2s in the JWE header");
  const p2s = base64UrlDecode(h.p2s);
  if (p2s.length < 8) throw new JweInvalid("p2s is shorter than 8 bytes");
  const wrappedKey = base64UrlDecode(keyText);
  const iv = base64UrlDecode(ivText);
  const ciphertext = base64UrlDecode(cipherText);
  const tag = base64UrlDecode(tagText);
  if (wrappedKey.length !== 40) throw new JweInvalid("the encrypted key is not 40 bytes");
  if (iv.length !== 12) throw new JweInvalid("the IV is not 12 bytes");
  if (tag.length !== 16) throw new JweInvalid("the tag is not 16 bytes");

  const enc = new TextEncoder();
  const algBytes = enc.encode(ALG);
  const salt = new Uint8Array(algBytes.length + 1 + p2s.length);
  salt.set(algBytes, 0);
  salt.set(p2s, algBytes.length + 1);
  const base = await crypto.subtle.importKey("raw", enc.encode(passphrase), "PBKDF2", false, [
    "deriveKey",
  ]);
  const kek = await crypto.subtle.deriveKey(
    { name: "PBKDF2", salt, iterations: p2c, hash: "SHA-256" },
    base,
    { name: "AES-KW", length: 128 },
    false,
    ["unwrapKey"],
  );
  let cek: CryptoKey;
  try {
    cek = await crypto.subtle.unwrapKey(
      "raw",
      wrappedKey,
      kek,
      "AES-KW",
      {
        name: "AES-GCM",
        length: 256,
      },
      false,
      ["decrypt"],
    );
  } catch {
    throw new JweDecryptionFailed();
  }
  const sealed = new Uint8Array(ciphertext.length + tag.length);
  sealed.set(ciphertext, 0);
  sealed.set(tag, ciphertext.length);
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: enc.encode(headerText), tagLength: 128 },
      cek,
      sealed,
    );
    return { header: h, plaintext: new Uint8Array(plaintext) };
  } catch {
    throw new JweDecryptionFailed();
  }
}
