/**
 * The Secret Service backend against a scripted Secret Service on the loopback stand-in bus, for
 * what gnome-keyring cannot be made to do headless: a prompt the user answers, one never
 * answered, a Prompt call that hangs, a daemon dying mid-call, item-level locks (KeePassXC), a
 * daemon without the encrypted transfer algorithm, and exactly what CreateItem carries.
 * The real daemon is tests/integration/backends_secret_service_test.ts.
 */
import assert from "node:assert/strict";
import { openSecretServiceKeyring } from "../../backends/secret_service.ts";
import { KeyringError, newItem } from "../../backends/keyring.ts";
import { encodeItemJson } from "../../backends/item_json.ts";
import type { DbusMessage, DbusValue } from "../../backends/dbus/connection.ts";
import { type StandInPeer, startDbusStandIn } from "../support/dbus_stand_in.ts";

const COLLECTION = "/org/freedesktop/secrets/collection/awsvault";
const ITEM = `${COLLECTION}/1`;
const PROMPT = "/org/freedesktop/secrets/prompt/u1";
const enc = new TextEncoder();
const dec = new TextDecoder();

/** How the scripted service behaves. */
interface Script {
  collectionLocked?: boolean;
  itemLocked?: boolean;
  /** What happens after Prompt: the user unlocks, dismisses, or never answers. */
  prompt?: "unlock" | "dismiss" | "never" | "hang";
  /** Close the connection when this method is called (once). */
  dieOn?: string;
  /** Answer this method with a string instead of its real reply. */
  wrongTypeOn?: string;
  /** Another client deletes the item between our search and our GetSecret. */
  vanish?: boolean;
}

/** A scripted Secret Service; records every call. */
async function scriptedService(script: Script) {
  const calls: DbusMessage[] = [];
  let stored: Uint8Array | undefined = enc.encode(
    encodeItemJson(newItem({ key: "work", data: enc.encode("secret-data") })),
  );
  let collectionLocked = script.collectionLocked ?? false;
  let itemLocked = script.itemLocked ?? false;
  let died = false;
  const props = (path: string, name: string): [string, DbusValue] | undefined => {
    if (name === "Collections") return ["ao", [COLLECTION]];
    if (name === "Locked") return ["b", path === ITEM ? itemLocked : collectionLocked];
    if (name === "Items") return ["ao", stored ? [ITEM] : []];
    if (name === "Label") return ["s", path === ITEM ? "work" : "awsvault"];
    if (name === "Modified") return ["t", 1700000000n];
    return undefined;
  };
  const onCall = async (call: DbusMessage, peer: StandInPeer) => {
    calls.push(call);
    if (script.dieOn === call.member && !died) {
      died = true;
      return peer.close();
    }
    if (script.wrongTypeOn === call.member) return peer.reply(call, "s", ["surprise"]);
    switch (call.member) {
      case "Get": {
        const p = props(call.path!, String(call.body[1]));
        if (!p) return peer.error(call, "org.freedesktop.DBus.Error.UnknownProperty", "no");
        return peer.reply(call, "v", [{ signature: p[0], value: p[1] }]);
      }
      case "OpenSession":
        if (call.body[0] !== "plain") {
          return peer.error(call, "org.freedesktop.DBus.Error.NotSupported", "not here");
        }
        return peer.reply(call, "vo", [{ signature: "s", value: "" }, "/session/1"]);
      case "ReadAlias":
        return peer.reply(call, "o", ["/"]);
      case "SearchItems":
        return peer.reply(call, "ao", [stored ? [ITEM] : []]);
      case "Unlock":
        return peer.reply(call, "aoo", [[], PROMPT]);
      case "Prompt":
        if (script.prompt === "hang") return;
        await peer.reply(call);
        if (script.prompt === "unlock") {
          collectionLocked = false;
          itemLocked = false;
          await peer.signal(completed(false, { signature: "ao", value: [COLLECTION] }));
        } else if (script.prompt === "dismiss") {
          await peer.signal(completed(true, { signature: "s", value: "" }));
        }
        return;
      case "Dismiss":
        return peer.reply(call);
      case "GetSecret":
        if (script.vanish) {
          stored = undefined;
          return peer.error(call, "org.freedesktop.Secret.Error.NoSuchObject", "gone");
        }
        if (collectionLocked || itemLocked) {
          return peer.error(call, "org.freedesktop.Secret.Error.IsLocked", "locked");
        }
        return peer.reply(call, "(oayays)", [["/session/1", new Uint8Array(), stored!, "text/x"]]);
      case "CreateItem":
        stored = (call.body[1] as [string, Uint8Array, Uint8Array, string])[2];
        return peer.reply(call, "oo", [ITEM, "/"]);
      case "Delete":
        stored = undefined;
        return peer.reply(call, "o", ["/"]);
    }
    return peer.error(call, "org.freedesktop.DBus.Error.UnknownMethod", call.member ?? "");
  };
  const bus = await startDbusStandIn({ onCall });
  return { bus, calls, members: () => calls.map((c) => c.member) };
}

function completed(dismissed: boolean, result: { signature: string; value: DbusValue }) {
  return {
    path: PROMPT,
    interface: "org.freedesktop.Secret.Prompt",
    member: "Completed",
    signature: "bv",
    body: [dismissed, result],
  };
}

async function withService(
  script: Script,
  fn: (
    k: ReturnType<typeof openSecretServiceKeyring>,
    s: Awaited<ReturnType<typeof scriptedService>>,
  ) => Promise<void>,
  options: { promptTimeoutMs?: number; callTimeoutMs?: number } = {},
): Promise<void> {
  const s = await scriptedService(script);
  const k = openSecretServiceKeyring({
    env: { DBUS_SESSION_BUS_ADDRESS: s.bus.address },
    promptTimeoutMs: options.promptTimeoutMs ?? 5_000,
    callTimeoutMs: options.callTimeoutMs ?? 5_000,
  });
  try {
    await fn(k, s);
  } finally {
    await k.close();
    await s.bus.close();
  }
}

Deno.test("secret-service prompt: a locked collection, unlocked at the prompt, is read; the daemon without DH gets plain", async () => {
  await withService({ collectionLocked: true, prompt: "unlock" }, async (k, s) => {
    assert.equal(dec.decode((await k.get("work"))!.data), "secret-data");
    assert.deepEqual(s.members().filter((m) => m === "Unlock" || m === "Prompt"), [
      "Unlock",
      "Prompt",
    ]);
    assert(!s.members().includes("Dismiss"));
    const opens = s.calls.filter((c) => c.member === "OpenSession").map((c) => c.body[0]);
    assert.deepEqual(opens, ["dh-ietf1024-sha256-aes128-cbc-pkcs7", "plain"]);
    assert(
      s.bus.matchRules.includes(
        `type='signal',sender='org.freedesktop.secrets',path='${PROMPT}',` +
          "interface='org.freedesktop.Secret.Prompt',member='Completed'",
      ),
    );
  });
});

Deno.test("secret-service prompt: dismissed, never answered (then Dismissed by us), or a hanging Prompt call: one KeyringError each", async () => {
  const cases: [Script["prompt"], RegExp, boolean][] = [
    ["dismiss", /prompt for unlocking the keyring 'awsvault' was dismissed/, false],
    ["never", /prompt for unlocking the keyring 'awsvault' was not answered within 150 ms/, true],
    ["hang", /did not answer \(no reply to org\.freedesktop\.Secret\.Prompt\.Prompt/, false],
  ];
  for (const [prompt, want, dismissed] of cases) {
    await withService({ collectionLocked: true, prompt }, async (k, s) => {
      const err = await k.get("work").catch((e) => e);
      assert(err instanceof KeyringError, `${prompt}: ${err}`);
      assert.match(err.message, /^cannot read 'work' from the Secret Service: /);
      assert.match(err.message, want, prompt);
      assert.equal(s.members().includes("Dismiss"), dismissed, prompt);
      assert(!s.members().includes("GetSecret"), "nothing read while locked");
    }, { promptTimeoutMs: 150, callTimeoutMs: 300 });
  }
});

Deno.test("secret-service prompt: an item locked on its own (KeePassXC) is unlocked and read", async () => {
  await withService({ itemLocked: true, prompt: "unlock" }, async (k, s) => {
    assert.equal(dec.decode((await k.get("work"))!.data), "secret-data");
    const unlock = s.calls.find((c) => c.member === "Unlock")!;
    assert.deepEqual(unlock.body, [[ITEM]]);
    assert.deepEqual(s.members().filter((m) => m === "GetSecret").length, 2);
  });
});

Deno.test("secret-service: CreateItem carries label and profile = key, application/json, replace, Item JSON", async () => {
  await withService({}, async (k, s) => {
    const item = newItem({ key: "team/ü", data: enc.encode("d"), label: "aws-vault (team/ü)" });
    await k.set(item);
    const call = s.calls.find((c) => c.member === "CreateItem")!;
    assert.equal(call.path, COLLECTION);
    assert.equal(call.signature, "a{sv}(oayays)b");
    const [props, secret, replace] = call.body as [
      Map<string, { signature: string; value: DbusValue }>,
      [string, Uint8Array, Uint8Array, string],
      boolean,
    ];
    assert.deepEqual(props.get("org.freedesktop.Secret.Item.Label"), {
      signature: "s",
      value: "team/ü",
    });
    assert.deepEqual(props.get("org.freedesktop.Secret.Item.Attributes"), {
      signature: "a{ss}",
      value: new Map([["profile", "team/ü"]]),
    });
    assert.equal(props.size, 2);
    assert.deepEqual(secret[0], "/session/1");
    assert.deepEqual(secret[1], new Uint8Array());
    assert.equal(dec.decode(secret[2]), encodeItemJson(item));
    assert.equal(secret[3], "application/json");
    assert.equal(replace, true);
  });
});

Deno.test("secret-service: the daemon dying mid-call is a KeyringError; the next operation reconnects", async () => {
  await withService({ dieOn: "GetSecret" }, async (k) => {
    const err = await k.get("work").catch((e) => e);
    assert(err instanceof KeyringError, String(err));
    assert.match(err.message, /connection to the Secret Service broke/);
    assert.equal(dec.decode((await k.get("work"))!.data), "secret-data");
    assert.deepEqual(await k.keys(), ["work"]);
    assert.deepEqual((await k.getMetadata("work"))?.modificationTime, new Date(1700000000000));
    assert.equal(await k.remove("work"), true);
    assert.equal(await k.get("work"), undefined);
  });
});

Deno.test("secret-service: replies of the wrong type are refused with one KeyringError", async () => {
  for (const member of ["SearchItems", "GetSecret", "OpenSession", "CreateItem", "Get"]) {
    await withService({ wrongTypeOn: member }, async (k) => {
      const op = member === "CreateItem"
        ? k.set(newItem({ key: "work", data: enc.encode("x") }))
        : k.get("work");
      const err = await op.catch((e) => e);
      assert(err instanceof KeyringError, `${member}: ${err}`);
      assert.match(err.message, /answered .* with 's', not|answered '?s'?, not a variant/, member);
    });
  }
});

Deno.test("secret-service: an item removed between search and read is missing, not an error", async () => {
  await withService({ vanish: true }, async (k, s) => {
    assert.equal(await k.get("work"), undefined);
    assert.deepEqual(s.members().filter((m) => m === "SearchItems").length, 2);
  });
});
