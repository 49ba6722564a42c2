/**
 * The D-Bus client (backends/dbus): address parsing, EXTERNAL authentication, calls, replies,
 * errors, signals and every bound, against a loopback stand-in bus that misbehaves on purpose
 * (tests/support/dbus_stand_in.ts) and against the real dbus-daemon.
 */
import assert from "node:assert/strict";
import { escapeAddressValue, parseBusAddress, socketTarget } from "../../backends/dbus/address.ts";
import { externalResponse } from "../../backends/dbus/auth.ts";
import {
  connectBus,
  connectSessionBus,
  DbusConnectError,
  DbusDisconnectedError,
  DbusError,
  DbusRemoteError,
  DbusTimeoutError,
  matchRule,
  sessionBusAddress,
} from "../../backends/dbus/connection.ts";
import { encodeMessage, MessageType } from "../../backends/dbus/message.ts";
import { getProperty } from "../../backends/dbus/properties.ts";
import { STAND_IN_GUID, startDbusStandIn } from "../support/dbus_stand_in.ts";
import { commandPeer, ignoreWithout } from "../support/peers.ts";
import { readUntil } from "../support/read_until.ts";

const ECHO = { destination: "org.example", path: "/org/example", interface: "org.example.T" };

Deno.test("dbus address: entries, %-escapes, guid, abstract, and what cannot be connected", () => {
  const entries = parseBusAddress(
    "unix:path=/run/user/1000/b%20us,guid=0123456789abcdef0123456789abcdef;;" +
      "unix:abstract=/tmp/dbus-x;tcp:host=127.0.0.1,port=1;unix:tmpdir=/tmp;unix:path=",
  );
  assert.equal(entries.length, 5);
  assert.deepEqual(socketTarget(entries[0]), {
    kind: "unix",
    path: "/run/user/1000/b us",
    guid: "0123456789abcdef0123456789abcdef",
    text: "unix:path=/run/user/1000/b%20us,guid=0123456789abcdef0123456789abcdef",
  });
  assert.deepEqual(socketTarget(entries[1]), {
    kind: "unix",
    path: "\0/tmp/dbus-x",
    guid: undefined,
    text: "unix:abstract=/tmp/dbus-x",
  });
  assert.match((socketTarget(entries[2]) as { reason: string }).reason, /transport 'tcp'/);
  assert.match((socketTarget(entries[3]) as { reason: string }).reason, /listen/);
  assert.match((socketTarget(entries[4]) as { reason: string }).reason, /without path/);
  assert.deepEqual(parseBusAddress("unix:path=/a%c3%a9").map((e) => e.params.get("path")), [
    "/aé",
  ]);
  for (const bad of ["nocolon", ":path=/x", "unix:path", "unix:path=/x,path=/y", "unix:path=%zz"]) {
    assert.throws(() => parseBusAddress(bad), Error, bad);
  }
  const odd = "/tmp/a b,c;d=é%";
  assert.equal(parseBusAddress(`unix:path=${escapeAddressValue(odd)}`)[0].params.get("path"), odd);
  const twice = parseBusAddress("unix:path=/x,abstract=y")[0];
  assert.equal(socketTarget(twice).kind, "unsupported");
  assert.equal(socketTarget(parseBusAddress("unix:path=/x,guid=zz")[0]).kind, "unsupported");
});

Deno.test("dbus auth: EXTERNAL's response is the hex of the uid's decimal digits", () => {
  assert.equal(externalResponse(1000), "31303030");
  assert.equal(externalResponse(0), "30");
});

Deno.test("dbus connect: Hello, a reply matched by serial, ERROR replies typed", async () => {
  const bus0 = await startDbusStandIn({
    onCall: async (call, peer) => {
      if (call.member === "Echo") await peer.reply(call, call.signature, call.body);
      else await peer.error(call, "org.example.Error.Nope", "no such thing");
    },
  });
  const bus = await connectBus(bus0.address);
  try {
    assert.equal(bus.uniqueName, ":1.1");
    assert.equal(bus.guid, STAND_IN_GUID);
    const replies = await Promise.all(
      ["a", "ünï/code", ""].map((s) =>
        bus.call({ ...ECHO, member: "Echo", signature: "sa{ss}", body: [s, new Map([[s, s]])] })
      ),
    );
    assert.deepEqual(replies.map((r) => r.body[0]), ["a", "ünï/code", ""]);
    const err = await bus.call({ ...ECHO, member: "Other" }).catch((e) => e);
    assert(err instanceof DbusRemoteError);
    assert.equal(err.errorName, "org.example.Error.Nope");
    assert.match(err.message, /no such thing/);
  } finally {
    bus.close();
    await bus0.close();
  }
});

Deno.test("dbus connect: missing socket, empty or unsupported addresses, no session bus", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const err = await connectBus(`unix:path=${dir}/none`).catch((e) => e);
    assert(err instanceof DbusConnectError);
    assert.match(err.message, /no such socket/);
    // A plain file where the socket should be: refused.
    await Deno.writeTextFile(`${dir}/file`, "");
    const refused = await connectBus(`unix:path=${dir}/file`).catch((e) => e);
    assert(refused instanceof DbusConnectError, String(refused));
    const all = await connectBus(`tcp:host=localhost,port=1;unix:path=${dir}/none`).catch((e) => e);
    assert(all instanceof DbusConnectError);
    assert.match(all.message, /transport 'tcp'.*no such socket/);
    for (const address of ["", ";", "garbage"]) {
      assert(await connectBus(address).catch((e) => e) instanceof DbusConnectError, address);
    }
    const unset = await connectSessionBus({}).catch((e) => e);
    assert(unset instanceof DbusConnectError);
    assert.match(unset.message, /DBUS_SESSION_BUS_ADDRESS is not set/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dbus connect: the first reachable of several addresses; an abstract socket", async () => {
  const dir = await Deno.makeTempDir();
  const bus0 = await startDbusStandIn({ abstract: Deno.build.os === "linux" });
  try {
    const bus = await connectBus(`unix:path=${dir}/none;${bus0.address}`);
    assert.equal(bus.uniqueName, ":1.1");
    bus.close();
  } finally {
    await bus0.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dbus connect: refused, garbage, overlong or hanging authentication fail in time", async () => {
  const cases = [
    ["reject", /refused EXTERNAL.*ANONYMOUS/],
    ["garbage", /answered authentication with 'HTTP/],
    ["long-line", /longer than/],
    ["close", /closed the connection during authentication/],
    ["hang", /did not authenticate us within 200 ms/],
  ] as const;
  for (const [auth, want] of cases) {
    const bus0 = await startDbusStandIn({ auth });
    try {
      const err = await connectBus(bus0.address, { connectTimeoutMs: 200 }).catch((e) => e);
      assert(err instanceof DbusConnectError, `${auth}: ${err}`);
      assert.match(err.message, want, auth);
    } finally {
      await bus0.close();
    }
  }
});

Deno.test("dbus connect: a GUID different from the address's is refused", async () => {
  const bus0 = await startDbusStandIn();
  try {
    const err = await connectBus(`${bus0.address},guid=${"f".repeat(32)}`).catch((e) => e);
    assert(err instanceof DbusConnectError);
    assert.match(err.message, /GUID/);
    (await connectBus(`${bus0.address},guid=${STAND_IN_GUID.toUpperCase()}`)).close();
  } finally {
    await bus0.close();
  }
});

Deno.test("dbus call: no reply is a timeout; the connection stays usable; late replies are dropped", async () => {
  let held: (() => Promise<void>) | undefined;
  const bus0 = await startDbusStandIn({
    onCall: async (call, peer) => {
      if (call.member === "Hang") held = () => peer.reply(call, "s", ["late"]);
      else await peer.reply(call, "s", ["ok"]);
    },
  });
  const bus = await connectBus(bus0.address);
  try {
    const err = await bus.call({ ...ECHO, member: "Hang" }, { timeoutMs: 100 }).catch((e) => e);
    assert(err instanceof DbusTimeoutError, String(err));
    assert.match(err.message, /no reply to org\.example\.T\.Hang within 100 ms/);
    await held!();
    assert.deepEqual((await bus.call({ ...ECHO, member: "Fine" })).body, ["ok"]);
  } finally {
    bus.close();
    await bus0.close();
  }
});

Deno.test("dbus call: the bus dying mid-call, and close(), fail pending calls", async () => {
  const bus0 = await startDbusStandIn({ onCall: (_call, peer) => peer.close() });
  const bus = await connectBus(bus0.address);
  try {
    const err = await bus.call({ ...ECHO, member: "Die" }).catch((e) => e);
    assert(err instanceof DbusDisconnectedError, String(err));
    assert(bus.closed);
    assert(
      await bus.call({ ...ECHO, member: "After" }).catch((e) => e) instanceof
        DbusDisconnectedError,
    );
  } finally {
    bus.close();
    await bus0.close();
  }
  const bus1 = await startDbusStandIn();
  const c = await connectBus(bus1.address);
  const pending = c.call({ ...ECHO, member: "NeverAnswered" }).catch((e) => e);
  c.close();
  c.close();
  assert(await pending instanceof DbusDisconnectedError);
  await bus1.close();
});

Deno.test("dbus call: garbage, an oversized header claim and an oversized message end the connection", async () => {
  const garbage = new Uint8Array(64).fill(0x5a);
  const claim = encodeMessage({
    type: MessageType.METHOD_RETURN,
    serial: 9,
    replySerial: 2,
    signature: "",
    body: [],
  });
  new DataView(claim.buffer).setUint32(4, 0xfffffff0, true); // body length ~4 GiB
  const huge = (call: { serial: number }) =>
    encodeMessage({
      type: MessageType.METHOD_RETURN,
      serial: 10,
      replySerial: call.serial,
      signature: "ay",
      body: [new Uint8Array(2 * 1024 * 1024)],
    });
  const sends: [string, (call: { serial: number }) => Uint8Array, RegExp][] = [
    ["garbage", () => garbage, /broke: bad D-Bus byte-order mark/],
    ["claim", () => claim, /over the limit of 1048576/],
    ["huge", huge, /over the limit of 1048576/],
  ];
  for (const [name, bytes, want] of sends) {
    const bus0 = await startDbusStandIn({ onCall: (call, peer) => peer.raw(bytes(call)) });
    const bus = await connectBus(bus0.address, { maxMessageBytes: 1024 * 1024 });
    try {
      const err = await bus.call({ ...ECHO, member: "X" }).catch((e) => e);
      assert(err instanceof DbusDisconnectedError, `${name}: ${err}`);
      assert.match(err.message, want, name);
    } finally {
      bus.close();
      await bus0.close();
    }
  }
});

Deno.test("dbus call: an argument over the size bound or of the wrong shape is refused locally", async () => {
  const bus0 = await startDbusStandIn({ onCall: (call, peer) => peer.reply(call) });
  const bus = await connectBus(bus0.address, { maxMessageBytes: 64 * 1024 });
  try {
    const big = await bus.call({
      ...ECHO,
      member: "Big",
      signature: "ay",
      body: [new Uint8Array(65 * 1024)],
    }).catch((e) => e);
    assert(big instanceof DbusError && !(big instanceof DbusDisconnectedError), String(big));
    assert.match(big.message, /over the limit/);
    const bad = await bus.call({ ...ECHO, member: "Bad", signature: "s", body: [] }).catch((e) =>
      e
    );
    assert(bad instanceof DbusError);
    await bus.call({ ...ECHO, member: "StillFine" });
  } finally {
    bus.close();
    await bus0.close();
  }
});

Deno.test("dbus signals: subscribers get matching signals only; a match rule is added", async () => {
  const bus0 = await startDbusStandIn({
    onCall: async (call, peer) => {
      await peer.signal({ path: "/p/2", interface: "org.example.P", member: "Completed" });
      await peer.signal({
        path: "/p/1",
        interface: "org.example.P",
        member: "Completed",
        signature: "bv",
        body: [false, { signature: "s", value: "done" }],
      });
      await peer.reply(call);
    },
  });
  const bus = await connectBus(bus0.address);
  try {
    const got: unknown[] = [];
    const sub = await bus.subscribe(
      { sender: "org.example", path: "/p/1", interface: "org.example.P", member: "Completed" },
      (s) => got.push(s.body),
    );
    await bus.call({ ...ECHO, member: "Go" });
    assert.deepEqual(got, [[false, { signature: "s", value: "done" }]]);
    assert.deepEqual(bus0.matchRules, [
      "type='signal',sender='org.example',path='/p/1',interface='org.example.P',member='Completed'",
    ]);
    await sub.close();
    await bus.call({ ...ECHO, member: "Go" });
    assert.equal(got.length, 1, "no delivery after close");
    assert.throws(() => matchRule({ path: "/x'y" }), DbusError);
  } finally {
    bus.close();
    await bus0.close();
  }
});

Deno.test("dbus call: a method call to us is answered with UnknownMethod", async () => {
  const others: { type: number; errorName?: string; replySerial?: number }[] = [];
  const bus0 = await startDbusStandIn({
    onCall: async (call, peer) => {
      await peer.raw(encodeMessage({
        type: MessageType.METHOD_CALL,
        serial: 77,
        path: "/",
        member: "Ping",
        interface: "org.freedesktop.DBus.Peer",
        sender: ":1.9",
        signature: "",
        body: [],
      }));
      await peer.reply(call);
    },
    onOther: (m) => others.push(m),
  });
  const bus = await connectBus(bus0.address);
  try {
    await bus.call({ ...ECHO, member: "Go" });
    await bus.call({ ...ECHO, member: "Go" }); // the error reply has arrived by now
    const ours = others.find((m) => m.replySerial === 77);
    assert.equal(ours?.type, MessageType.ERROR);
    assert.equal(ours?.errorName, "org.freedesktop.DBus.Error.UnknownMethod");
  } finally {
    bus.close();
    await bus0.close();
  }
});

const DBUS_DAEMON = commandPeer("dbus-daemon", "dbus-daemon", ["--version"]);

Deno.test("dbus connect: the real dbus-daemon: Hello, NameHasOwner, properties, ServiceUnknown", {
  ignore: await ignoreWithout(DBUS_DAEMON),
}, async () => {
  const daemon = new Deno.Command("dbus-daemon", {
    args: ["--session", "--nofork", "--nopidfile", "--print-address=1"],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = daemon.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const address = (await readUntil(reader, (t) => t.includes("\n"))).trim();
  reader.releaseLock();
  await daemon.stdout.cancel().catch(() => {});
  try {
    const bus = await connectSessionBus({ DBUS_SESSION_BUS_ADDRESS: address });
    try {
      assert.match(bus.uniqueName, /^:1\.\d+$/);
      const DBUS = {
        destination: "org.freedesktop.DBus",
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
      };
      const has = await bus.call({
        ...DBUS,
        member: "NameHasOwner",
        signature: "s",
        body: [bus.uniqueName],
      });
      assert.deepEqual(has.body, [true]);
      const features = await getProperty(bus, DBUS, "org.freedesktop.DBus", "Features");
      assert(Array.isArray(features));
      const err = await bus.call({ destination: "org.example.nobody", path: "/", member: "X" })
        .catch((e) => e);
      assert(err instanceof DbusRemoteError);
      assert.equal(err.errorName, "org.freedesktop.DBus.Error.ServiceUnknown");
    } finally {
      bus.close();
    }
  } finally {
    daemon.kill("SIGTERM");
    await daemon.status;
  }
});

const SETPRIV = commandPeer("setpriv", "setpriv", ["--version"]);

Deno.test("dbus connect: a socket we may not open is 'permission denied'", {
  ignore: Deno.uid() === 0 && await ignoreWithout(SETPRIV),
}, async () => {
  const bus0 = await startDbusStandIn();
  try {
    const path = bus0.address.slice("unix:path=".length);
    await Deno.chmod(path, 0);
    const connection = new URL("../../backends/dbus/connection.ts", import.meta.url).href;
    const script = `import { connectBus } from "${connection}";
      await connectBus("${bus0.address}").then((b) => { b.close(); console.log("connected"); },
        (e) => console.log(e.name + ": " + e.message));`;
    // Root opens anything: run the client as root without the capabilities that allow it.
    const [cmd, ...args] = [
      ...(Deno.uid() === 0 ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] : []),
      Deno.execPath(),
      "eval",
      script,
    ];
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.equal(
      text,
      `DbusConnectError: cannot connect to the D-Bus bus at ${bus0.address}: permission denied`,
      new TextDecoder().decode(out.stderr),
    );
  } finally {
    await bus0.close();
  }
});

Deno.test("dbus connect: without DBUS_SESSION_BUS_ADDRESS, $XDG_RUNTIME_DIR/bus is the session bus", async () => {
  const bus0 = await startDbusStandIn();
  try {
    const socket = bus0.address.slice("unix:path=".length);
    const dir = socket.slice(0, -"/bus".length);
    assert.equal(sessionBusAddress({ XDG_RUNTIME_DIR: dir }), bus0.address);
    assert.equal(sessionBusAddress({ XDG_RUNTIME_DIR: dir, DBUS_SESSION_BUS_ADDRESS: "x:" }), "x:");
    assert.equal(sessionBusAddress({ XDG_RUNTIME_DIR: `${dir}/none` }), undefined);
    assert.equal(sessionBusAddress({ XDG_RUNTIME_DIR: "relative" }), undefined);
    (await connectSessionBus({ XDG_RUNTIME_DIR: dir })).close();
    const err = await connectSessionBus({ XDG_RUNTIME_DIR: `${dir}/none` }).catch((e) => e);
    assert(err instanceof DbusConnectError);
    assert.match(err.message, /DBUS_SESSION_BUS_ADDRESS is not set and there is no/);
  } finally {
    await bus0.close();
  }
});
