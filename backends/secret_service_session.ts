/**
 * Secret Service transfer sessions (the spec's "Transfer of Secrets"): how secrets travel over
 * the bus. `dh-ietf1024-sha256-aes128-cbc-pkcs7` (Diffie-Hellman in the 1024-bit MODP group of
 * RFC 2409, HKDF-SHA256 with no salt and no info to a 128-bit key, AES-128-CBC with PKCS#7
 * padding and a fresh IV per secret) when the daemon offers it, so a bus monitor sees no secret;
 * `plain` (what aws-vault uses) otherwise. WebCrypto does the hashing and AES; the modular
 * exponentiation is BigInt arithmetic.
 */
import type { DbusValue, Variant } from "./dbus/connection.ts";
import { DbusError, DbusRemoteError } from "./dbus/connection.ts";

/** The algorithm names of the specification. */
export const PLAIN = "plain";
export const DH_AES = "dh-ietf1024-sha256-aes128-cbc-pkcs7";

/** An open session: its object path and how secrets are wrapped for it. */
export interface SecretSession {
  path: string;
  algorithm: typeof PLAIN | typeof DH_AES;
  /** Parameters and value of a secret to send. */
  encrypt(secret: Uint8Array): Promise<{ parameters: Uint8Array; value: Uint8Array }>;
  /** The secret from a received (parameters, value). Throws DbusError when it is malformed. */
  decrypt(parameters: Uint8Array, value: Uint8Array): Promise<Uint8Array>;
}

/** Calls a method of the Secret Service object (the client's, with its deadline). */
export type ServiceCall = (
  member: string,
  signature: string,
  body: DbusValue[],
) => Promise<DbusValue[]>;

// RFC 2409, section 6.2: the Second Oakley Group; generator 2.
const PRIME = BigInt(
  "0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879" +
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B" +
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
);
const PRIME_BYTES = 128;

/**
 * Opens a session: the encrypted algorithm unless `algorithm` says plain or the daemon answers
 * NotSupported, then plain.
 */
export async function openSecretSession(
  call: ServiceCall,
  options: { algorithm?: typeof PLAIN | typeof DH_AES } = {},
): Promise<SecretSession> {
  if ((options.algorithm ?? DH_AES) === DH_AES) {
    try {
      return await openDhSession(call);
    } catch (err) {
      if (!(err instanceof DbusRemoteError && /NotSupported/.test(err.errorName))) throw err;
    }
  }
  const [, path] = await call("OpenSession", "sv", [PLAIN, { signature: "s", value: "" }]);
  return {
    path: String(path),
    algorithm: PLAIN,
    encrypt: (secret) => Promise.resolve({ parameters: new Uint8Array(), value: secret }),
    decrypt: (_parameters, value) => Promise.resolve(value),
  };
}

async function openDhSession(call: ServiceCall): Promise<SecretSession> {
  const privateKey = bytesToBigInt(crypto.getRandomValues(new Uint8Array(PRIME_BYTES))) %
      (PRIME - 3n) + 2n;
  const publicKey = bigIntToBytes(modPow(2n, privateKey, PRIME), PRIME_BYTES);
  const [output, path] = await call("OpenSession", "sv", [DH_AES, {
    signature: "ay",
    value: publicKey,
  }]);
  const theirs = output as Variant;
  if (theirs.signature !== "ay" || !(theirs.value instanceof Uint8Array)) {
    throw new DbusError("the Secret Service answered OpenSession without a public key");
  }
  const y = bytesToBigInt(theirs.value);
  if (theirs.value.length > PRIME_BYTES || y <= 1n || y >= PRIME - 1n) {
    throw new DbusError("the Secret Service's public key is out of range");
  }
  const shared = bigIntToBytes(modPow(y, privateKey, PRIME), PRIME_BYTES);
  const ikm = await crypto.subtle.importKey("raw", new Uint8Array(shared), "HKDF", false, [
    "deriveKey",
  ]);
  const key = await crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: new Uint8Array() },
    ikm,
    { name: "AES-CBC", length: 128 },
    false,
    ["encrypt", "decrypt"],
  );
  return {
    path: String(path),
    algorithm: DH_AES,
    encrypt: async (secret) => {
      const iv = crypto.getRandomValues(new Uint8Array(16));
      const value = new Uint8Array(
        await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, new Uint8Array(secret)),
      );
      return { parameters: iv, value };
    },
    decrypt: async (parameters, value) => {
      if (parameters.length !== 16 || value.length === 0 || value.length % 16 !== 0) {
        throw new DbusError("the Secret Service sent a malformed encrypted secret");
      }
      try {
        return new Uint8Array(
          await crypto.subtle.decrypt(
            { name: "AES-CBC", iv: new Uint8Array(parameters) },
            key,
            new Uint8Array(value),
          ),
        );
      } catch {
        throw new DbusError("the Secret Service sent a secret that does not decrypt");
      }
    },
  };
}

/** base^exp mod m by square-and-multiply. */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = result * b % m;
    b = b * b % m;
    e >>= 1n;
  }
  return result;
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = "0x0";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return BigInt(hex);
}

/** Big-endian, left-padded with zeros to `length` bytes (the shared secret's leading zeros count). */
function bigIntToBytes(n: bigint, length: number): Uint8Array {
  const hex = n.toString(16).padStart(length * 2, "0");
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
