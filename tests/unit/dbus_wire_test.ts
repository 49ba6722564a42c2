/** The D-Bus wire codec: byte layouts from the D-Bus specification, round trips, bad input. */
import assert from "node:assert/strict";
import { DbusWireError, Reader, splitSignature, Writer } from "../../backends/dbus/wire.ts";

Deno.test("dbus wire: a string is length, bytes, NUL; u32 after a byte is aligned to 4", () => {
  const w = new Writer();
  w.write("yus", [7, 1, "ab"]);
  assert.deepEqual(
    [...w.bytes()],
    [7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0x61, 0x62, 0],
  );
});

Deno.test("dbus wire: an array of structs pads its first element to 8, outside the length", () => {
  const w = new Writer();
  w.write("a(y)", [[[1], [2]]]);
  // length 9 (1 + 7 padding + 1), then 4 bytes of padding to 8, then the elements.
  assert.deepEqual([...w.bytes()], [9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
});

Deno.test("dbus wire: round trip of the Secret Service types", () => {
  const props = new Map([["org.freedesktop.Secret.Item.Label", { signature: "s", value: "wörk" }]]);
  const secret = [
    "/org/freedesktop/secrets/session/1",
    new Uint8Array(),
    new Uint8Array([0, 255]),
    "application/json",
  ];
  const w = new Writer();
  w.write("a{sv}(oayays)bgxt", [props, secret, true, "a{ss}", -5n, 2n ** 64n - 1n]);
  const r = new Reader(w.bytes());
  assert.deepEqual(r.read("a{sv}(oayays)bgxt"), [
    props,
    secret,
    true,
    "a{ss}",
    -5n,
    2n ** 64n - 1n,
  ]);
  assert.equal(r.offset, w.length);
});

Deno.test("dbus wire: bad signatures and truncated or hostile messages throw DbusWireError", () => {
  for (const sig of ["a", "(s", "a{s", "z", "(".repeat(70) + ")".repeat(70)]) {
    assert.throws(() => splitSignature(sig), DbusWireError, sig);
  }
  const w = new Writer();
  w.write("s", ["hello"]);
  const bytes = w.bytes();
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => new Reader(bytes.subarray(0, n)).read("s"), DbusWireError);
  }
  // A length claiming 4 GiB, a variant holding two types, invalid UTF-8.
  assert.throws(() => new Reader(new Uint8Array([255, 255, 255, 255])).read("ay"), DbusWireError);
  assert.throws(() => new Reader(new Uint8Array([2, 0x73, 0x73, 0])).read("v"), DbusWireError);
  assert.throws(() => new Reader(new Uint8Array([1, 0, 0, 0, 0xff, 0])).read("s"), DbusWireError);
});
