/** The D-Bus wire codec: byte layouts from the D-Bus specification, round trips, bad input. */
import assert from "node:assert/strict";
import { DbusWireError, Reader, splitSignature, Writer } from "../../backends/dbus/wire.ts";
import {
  decodeMessage,
  encodeMessage,
  frameLength,
  MessageType,
} from "../../backends/dbus/message.ts";

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

Deno.test("dbus message: round trip, frame length, and a big-endian message built by hand", () => {
  const m = {
    type: MessageType.METHOD_CALL,
    flags: 0,
    serial: 7,
    path: "/org/freedesktop/secrets",
    interface: "org.freedesktop.Secret.Service",
    member: "OpenSession",
    destination: "org.freedesktop.secrets",
    signature: "sv",
    body: ["plain", { signature: "s", value: "" }],
  };
  const bytes = encodeMessage(m);
  assert.equal(frameLength(bytes.subarray(0, 15)), undefined);
  assert.equal(frameLength(bytes), bytes.length);
  assert.deepEqual(decodeMessage(bytes), m);
  const be = new Uint8Array([
    0x42,
    1,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    11, // fixed header, fields length 11
    3,
    1,
    0x73,
    0,
    0,
    0,
    0,
    2,
    0x48,
    0x69,
    0, // MEMBER = "Hi"
    0,
    0,
    0,
    0,
    0, // padding to 8
  ]);
  assert.equal(frameLength(be), 32);
  assert.deepEqual(decodeMessage(be), {
    type: 1,
    flags: 0,
    serial: 1,
    member: "Hi",
    signature: "",
    body: [],
  });
  for (const bad of [0x58, 0x6c]) {
    const copy = be.slice();
    copy[0] = bad; // an unknown byte order; or the wrong one, which breaks the lengths
    assert.throws(() => decodeMessage(copy), DbusWireError);
  }
  const v2 = be.slice();
  v2[3] = 2;
  assert.throws(() => frameLength(v2), DbusWireError);
});
