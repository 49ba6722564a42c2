/**
 * The WebCrypto JWE reader (backends/jwe.ts) against jose as the writer: it opens what jose
 * writes, and refuses every tampered part, a wrong passphrase, and headers it must not accept.
 * (jwcrypto and joserfc files are read through it in tests/integration/backends_file_interop_test.ts.)
 */
import assert from "node:assert/strict";
import { CompactEncrypt } from "jose";
import { decryptPbes2Jwe, JweDecryptionFailed, JweInvalid } from "../../backends/jwe.ts";

const PASS = "correct horse";
const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

async function joseJwe(
  header: Record<string, unknown> = {},
  options: { p2c?: number; p2s?: Uint8Array; payload?: string } = {},
): Promise<string> {
  return await new CompactEncrypt(enc.encode(options.payload ?? '{"Key":"p"}'))
    .setProtectedHeader({ alg: "PBES2-HS256+A128KW", enc: "A256GCM", ...header })
    .setKeyManagementParameters({
      p2c: options.p2c ?? 8192,
      p2s: options.p2s ?? crypto.getRandomValues(new Uint8Array(12)),
    })
    .encrypt(enc.encode(PASS));
}

const MAX = { maxP2c: 1_300_000 };

Deno.test("jwe: opens what jose writes, with its header", async () => {
  for (const payload of ["", "{}", "x".repeat(100_000), "ünïcødé ✓"]) {
    const jwe = await joseJwe({ created: "2024-01-02 03:04:05 +0000 UTC" }, { payload });
    const { header, plaintext } = await decryptPbes2Jwe(jwe, PASS, MAX);
    assert.equal(new TextDecoder().decode(plaintext), payload);
    assert.equal(header.created, "2024-01-02 03:04:05 +0000 UTC");
  }
  const low = await joseJwe({}, { p2c: 1000 });
  assert.equal(
    new TextDecoder().decode((await decryptPbes2Jwe(low, PASS, MAX)).plaintext),
    '{"Key":"p"}',
  );
});

Deno.test("jwe: a wrong passphrase and every tampered part fail to decrypt", async () => {
  const jwe = await joseJwe();
  await assert.rejects(decryptPbes2Jwe(jwe, "wrong", MAX), JweDecryptionFailed);
  await assert.rejects(decryptPbes2Jwe(jwe, "", MAX), JweDecryptionFailed);
  const parts = jwe.split(".");
  for (const i of [1, 2, 3, 4]) {
    const bytes = Uint8Array.from(
      atob(
        parts[i].replaceAll("-", "+").replaceAll("_", "/") +
          "=".repeat((4 - parts[i].length % 4) % 4),
      ),
      (c) => c.charCodeAt(0),
    );
    if (bytes.length === 0) continue;
    bytes[0] ^= 1;
    const tampered = parts.with(i, b64url(bytes)).join(".");
    await assert.rejects(decryptPbes2Jwe(tampered, PASS, MAX), JweDecryptionFailed, `part ${i}`);
  }
  // The header is the AAD: an equivalent header with other bytes does not open.
  const header = JSON.parse(atob(parts[0].replaceAll("-", "+").replaceAll("_", "/")));
  const reordered = b64url(enc.encode(JSON.stringify({ ...header, x: 1 })));
  await assert.rejects(
    decryptPbes2Jwe([reordered, ...parts.slice(1)].join("."), PASS, MAX),
    JweDecryptionFailed,
  );
});

Deno.test("jwe: headers and shapes it must refuse, before any key derivation", async () => {
  const jwe = await joseJwe();
  const parts = jwe.split(".");
  const withHeader = (h: Record<string, unknown>) =>
    [b64url(enc.encode(JSON.stringify(h))), ...parts.slice(1)].join(".");
  const base = JSON.parse(atob(parts[0].replaceAll("-", "+").replaceAll("_", "/")));
  const cases: [string, RegExp][] = [
    ["a.b.c", /compact form/],
    [parts.slice(0, 4).join("."), /compact form/],
    [`${parts.join(".")}.x`, /compact form/],
    [["!!", ...parts.slice(1)].join("."), /bad JWE header/],
    [[b64url(enc.encode("[1]")), ...parts.slice(1)].join("."), /bad JWE header/],
    [[`${parts[0]}=`, ...parts.slice(1)].join("."), /bad JWE header/],
    [withHeader({ ...base, alg: "dir" }), /unsupported encryption/],
    [withHeader({ ...base, enc: "A128GCM" }), /unsupported encryption/],
    [withHeader({ ...base, zip: "DEF" }), /compressed/],
    [withHeader({ ...base, crit: ["x"] }), /critical/],
    [withHeader({ ...base, p2c: 2_000_000 }), /exceeds the limit/],
    [withHeader({ ...base, p2c: 0 }), /invalid p2c/],
    [withHeader({ ...base, p2c: 1.5 }), /invalid p2c/],
    [withHeader({ ...base, p2c: "8192" }), /invalid p2c/],
    [withHeader({ ...base, p2s: undefined }), /missing p2s/],
    [withHeader({ ...base, p2s: "AAAA" }), /shorter than 8/],
    [parts.with(1, "AAAA").join("."), /40 bytes/],
    [parts.with(2, "AAAA").join("."), /12 bytes/],
    [parts.with(4, "AAAA").join("."), /16 bytes/],
    [parts.with(3, "a+b").join("."), /base64url/],
  ];
  for (const [text, want] of cases) {
    await assert.rejects(decryptPbes2Jwe(text, PASS, MAX), (e: unknown) => {
      assert(e instanceof JweInvalid, `${want}: ${e}`);
      assert.match(e.message, want);
      return true;
    });
  }
});
