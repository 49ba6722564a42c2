/** lib/encoding.ts's UTF-8 decoding: what TextDecoder gives, with and without `fatal`. */
import assert from "node:assert/strict";
import { utf8Text } from "../../lib/encoding.ts";

const enc = (text: string) => new TextEncoder().encode(text);

Deno.test("utf8Text decodes as TextDecoder does: ASCII, a BOM, non-ASCII, bad bytes, long texts", () => {
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["ASCII JSON", enc('{"AccessKeyID":"ASIA","Expiration":"2026-12-03T13:00:00Z"}')],
    ["control characters", Uint8Array.from({ length: 128 }, (_, i) => i)],
    ["a BOM (TextDecoder drops it)", enc("\uFEFF[profile p]\n")],
    ["non-ASCII", enc("[profile é]\nregion = 東京 🚀\n")],
    ["bytes that are not UTF-8", Uint8Array.from([0x61, 0xff, 0x80, 0xc3, 0x62, 0xed, 0xa0, 0x80])],
    ["ASCII past the fast path's length", enc("a".repeat(20_000))],
    ["non-ASCII at the end of a long text", enc(`${"b".repeat(9000)}é`)],
  ];
  for (const [what, bytes] of cases) {
    assert.equal(utf8Text(bytes), new TextDecoder().decode(bytes), what);
    let fatal: string | undefined;
    try {
      fatal = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      assert.throws(() => utf8Text(bytes, { fatal: true }), TypeError, what);
      continue;
    }
    assert.equal(utf8Text(bytes, { fatal: true }), fatal, what);
  }
});
