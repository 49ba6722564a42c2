/**
 * The kwallet backend against a stand-in bus (tests/support/dbus_stand_in.ts) that plays a
 * misbehaving "kwalletd": wrong reply types, errors, silence, one open for concurrent callers,
 * kwalletd6 preferred over kwalletd5. The real kwalletd is in
 * tests/integration/backends_kwallet_test.ts.
 */
import assert from "node:assert/strict";
import { type DbusStandIn, type StandInPeer, startDbusStandIn } from "../support/dbus_stand_in.ts";
import type { DbusMessage } from "../../backends/dbus/message.ts";
import type { DbusValue } from "../../backends/dbus/wire.ts";
import { kwalletUnavailable, openKwalletKeyring } from "../../backends/kwallet.ts";
import { KeyringError, newItem } from "../../backends/keyring.ts";

/** What the fake daemon answers: a reply [signature, body], an error name, or silence. */
type Answer = [string, DbusValue[]] | { error: string } | "silence";

interface FakeOptions {
  /** Names with an owner on the bus. */
  running?: string[];
  /** Answers per org.kde.KWallet member; default: a well-behaved empty wallet. */
  answers?: Record<string, Answer>;
}

/** A stand-in bus whose kwalletd answers from `answers`; records every KWallet call. */
async function fakeKwalletd(
  options: FakeOptions = {},
): Promise<{ bus: DbusStandIn; calls: DbusMessage[] }> {
  const calls: DbusMessage[] = [];
  const running = options.running ?? ["org.kde.kwalletd5"];
  const defaults: Record<string, Answer> = {
    open: ["i", [7]],
    isEnabled: ["b", [true]],
    hasEntry: ["b", [false]],
    readEntry: ["ay", [new Uint8Array()]],
    entryList: ["as", [[]]],
    writeEntry: ["i", [0]],
    removeEntry: ["i", [0]],
    sync: ["", []],
  };
  const answer = async (call: DbusMessage, peer: StandInPeer, a: Answer | undefined) => {
    if (a === undefined || a === "silence") return;
    if ("error" in a) return await peer.error(call, a.error, "no");
    await peer.reply(call, a[0], a[1]);
  };
  const bus = await startDbusStandIn({
    onCall: async (call, peer) => {
      if (call.interface === "org.freedesktop.DBus") {
        if (call.member === "NameHasOwner") {
          return await peer.reply(call, "b", [running.includes(String(call.body[0]))]);
        }
        return await peer.reply(call, "as", [[]]);
      }
      calls.push(call);
      await answer(call, peer, { ...defaults, ...options.answers }[call.member ?? ""]);
    },
  });
  return { bus, calls };
}

async function withFake(
  options: FakeOptions,
  fn: (
    k: ReturnType<typeof openKwalletKeyring>,
    calls: DbusMessage[],
    bus: DbusStandIn,
  ) => Promise<void>,
): Promise<void> {
  const { bus, calls } = await fakeKwalletd(options);
  const k = openKwalletKeyring({
    env: { DBUS_SESSION_BUS_ADDRESS: bus.address },
    callTimeoutMs: 300,
    openTimeoutMs: 300,
  });
  try {
    await fn(k, calls, bus);
  } finally {
    await k.close();
    await bus.close().catch(() => {}); // a test may have closed it already
  }
}

Deno.test("kwallet: kwalletd6 is preferred when it runs, else kwalletd5", async () => {
  await withFake({ running: ["org.kde.kwalletd6", "org.kde.kwalletd5"] }, async (k, calls) => {
    await k.keys();
    assert.deepEqual(
      [...new Set(calls.map((c) => `${c.destination} ${c.path}`))],
      ["org.kde.kwalletd6 /modules/kwalletd6"],
    );
  });
  await withFake({ running: ["org.kde.kwalletd5"] }, async (k, calls) => {
    await k.keys();
    assert.deepEqual(
      [...new Set(calls.map((c) => `${c.destination} ${c.path}`))],
      ["org.kde.kwalletd5 /modules/kwalletd5"],
    );
  });
});

Deno.test("kwallet: the wallet is opened once for concurrent first calls, as aws-vault/aws-vault", async () => {
  await withFake({}, async (k, calls) => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => k.get(`k${i}`)));
    const opens = calls.filter((c) => c.member === "open");
    assert.equal(opens.length, 1);
    assert.deepEqual(opens[0].body, ["aws-vault", 0n, "aws-vault"]);
    assert.equal(opens[0].signature, "sxs");
    const reads = calls.filter((c) => c.member === "readEntry");
    assert.deepEqual(reads[0].body.slice(0, 2), [7, "aws-vault"]);
    assert.equal(reads[0].body[3], "aws-vault");
  });
});

Deno.test("kwallet: replies of the wrong type are one clear KeyringError", async () => {
  for (
    const [member, answer, op, expected] of [
      ["open", ["s", ["7"]], "keys", /unexpected reply \(expected an int32\)/],
      ["entryList", ["as", [[]]], "keys", undefined],
      ["entryList", ["s", ["x"]], "keys", /expected a string array/],
      ["readEntry", ["s", ["{}"]], "get", /expected a byte array/],
      ["hasEntry", ["i", [1]], "has", /expected a boolean/],
      ["writeEntry", ["i", [-2]], "set", /kwalletd answered -2/],
      ["readEntry", ["ay", [new TextEncoder().encode("[1]")]], "get", /not a JSON object/],
    ] as [string, Answer, string, RegExp | undefined][]
  ) {
    await withFake({ answers: { [member]: answer } }, async (k) => {
      const run = () =>
        op === "keys"
          ? k.keys()
          : op === "get"
          ? k.get("p")
          : op === "has"
          ? k.has!("p")
          : k.set(newItem({ key: "p", data: new Uint8Array([1]) }));
      if (!expected) return void await run();
      await assert.rejects(run, (err: Error) => {
        assert(err instanceof KeyringError, String(err));
        assert.match(err.message, expected);
        assert.doesNotMatch(err.message, /\n/);
        return true;
      });
    });
  }
});

Deno.test("kwallet: open -1 with KWallet disabled says so; errors and silence are named", async () => {
  await withFake({ answers: { open: ["i", [-1]], isEnabled: ["b", [false]] } }, async (k) => {
    await assert.rejects(() => k.keys(), /KDE wallet subsystem is disabled/);
  });
  await withFake({ answers: { open: "silence" } }, async (k) => {
    await assert.rejects(
      () => k.keys(),
      /^KeyringError: cannot list KWallet entries: kwalletd did not open the wallet 'aws-vault' within 300 ms \(is a password dialog waiting\?\)$/,
    );
  });
  await withFake({ answers: { entryList: "silence" } }, async (k) => {
    await assert.rejects(() => k.keys(), /kwalletd did not answer entryList within 300 ms$/);
  });
  await withFake({
    answers: { open: { error: "org.freedesktop.DBus.Error.UnknownMethod" } },
  }, async (k) => {
    await assert.rejects(() => k.keys(), /does not speak org\.kde\.KWallet/);
  });
  await withFake({ answers: { readEntry: { error: "org.kde.Weird" } } }, async (k) => {
    await assert.rejects(() => k.get("p"), /kwalletd answered readEntry with org\.kde\.Weird$/);
  });
  // A bus that hangs up: the error, then a reconnect on the next call.
  await withFake({ answers: { entryList: "silence" } }, async (k, _calls, bus) => {
    const pending = k.keys().then(() => undefined, (err: Error) => err);
    await new Promise((r) => setTimeout(r, 50));
    await bus.close();
    const err = await pending;
    assert(err instanceof KeyringError);
    assert.match(err.message, /session bus connection ended|did not answer/);
  });
});

Deno.test("kwallet: an empty answer is believed only when the handle is still ours", async () => {
  // removeEntry on the probe folder answers -1: the handle is stale, so the wallet is reopened.
  let opens = 0;
  await withFake({
    answers: { removeEntry: ["i", [-1]], entryList: ["as", [[]]] },
  }, async (k, calls) => {
    await assert.rejects(() => k.keys(), /was closed while in use/);
    opens = calls.filter((c) => c.member === "open").length;
    const probes = calls.filter((c) => c.member === "removeEntry");
    assert(probes.every((c) => c.body[1] !== "aws-vault" && c.body[2] === ""), "probe only");
  });
  assert.equal(opens, 2);
});

Deno.test("kwallet: availability asks only the bus; activation only when chosen", async () => {
  const { bus } = await fakeKwalletd({ running: [] });
  try {
    const env = { DBUS_SESSION_BUS_ADDRESS: bus.address };
    assert.match((await kwalletUnavailable(env, { activate: false }))!, /not running/);
    assert.match((await kwalletUnavailable(env, { activate: true }))!, /no kwalletd/);
  } finally {
    await bus.close();
  }
  const { bus: bus6 } = await fakeKwalletd({ running: ["org.kde.kwalletd6"] });
  try {
    const env = { DBUS_SESSION_BUS_ADDRESS: bus6.address };
    assert.equal(await kwalletUnavailable(env, { activate: false }), undefined);
  } finally {
    await bus6.close();
  }
});

Deno.test("kwallet in the automatic choice: a running kwalletd is taken after secret-service", async () => {
  const { openKeyring } = await import("../../backends/mod.ts");
  const { testRuntime } = await import("../support/runtime.ts");
  const empty = await Deno.makeTempDir();
  const options = {
    keychain: "aws-vault",
    secretServiceCollection: "awsvault",
    fileDir: `${empty}/vault`,
    keyctlScope: "user",
  };
  const pick = async (
    running: string[],
    env: Record<string, string> = {},
    viaRuntimeDir = false,
  ) => {
    const { bus } = await fakeKwalletd({ running });
    // The stand-in's socket is `<dir>/bus`: where $XDG_RUNTIME_DIR/bus is looked for.
    const where: Record<string, string> = viaRuntimeDir
      ? { XDG_RUNTIME_DIR: bus.address.replace(/^unix:path=/, "").replace(/\/bus$/, "") }
      : { DBUS_SESSION_BUS_ADDRESS: bus.address };
    try {
      const rt = testRuntime({ env: { PATH: empty, ...where, ...env }, home: empty });
      const k = await openKeyring(options, rt);
      await k.close?.();
      return { name: k.name, notice: rt.err.join("") };
    } finally {
      await bus.close();
    }
  };
  try {
    const kde = await pick(["org.kde.kwalletd5"]);
    assert.equal(kde.name, "kwallet");
    assert.match(kde.notice, /^aws-vault: using the kwallet backend because secret-service is/);
    // No DBUS_SESSION_BUS_ADDRESS: the session bus at $XDG_RUNTIME_DIR/bus (as godbus finds it).
    assert.equal((await pick(["org.kde.kwalletd6"], {}, true)).name, "kwallet");
    const disabled = await pick(["org.kde.kwalletd5"], { DISABLE_KWALLET: "1" });
    assert.equal(disabled.name, "file");
    assert.doesNotMatch(disabled.notice, /kwallet/);
    // Not running: skipped; a notice names it only on a KDE desktop.
    const gnome = await pick([]);
    assert.equal(gnome.name, "file");
    assert.doesNotMatch(gnome.notice, /kwallet/);
    const plasma = await pick([], { XDG_CURRENT_DESKTOP: "KDE" });
    assert.equal(plasma.name, "file");
    assert.match(
      plasma.notice,
      /kwallet is unavailable: kwalletd is not running on the session bus/,
    );
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
