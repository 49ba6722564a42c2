/**
 * The Secret Service backend against a real gnome-keyring on a private session bus, through our
 * own D-Bus client only. libsecret's secret-tool is an independent peer: what we store it reads,
 * and what it stores (as aws-vault stores it) we read.
 */
import assert from "node:assert/strict";
import { keyringConformance, ODD_KEYS } from "../support/keyring_conformance.ts";
import {
  GNOME_KEYRING,
  type GnomeKeyring,
  SECRET_TOOL,
  startGnomeKeyring,
} from "../support/gnome_keyring.ts";
import { ignoreWithout } from "../support/peers.ts";
import {
  collectionPath,
  MAX_KEY_BYTES,
  MAX_SECRET_BYTES,
  openSecretServiceKeyring,
  type SecretServiceKeyring,
  secretServiceUnavailable,
} from "../../backends/secret_service.ts";
import { SecretServiceClient } from "../../backends/secret_service_client.ts";
import { DH_AES, PLAIN } from "../../backends/secret_service_session.ts";
import { connectBus } from "../../backends/dbus/connection.ts";
import { KeyringError, newItem } from "../../backends/keyring.ts";
import { encodeItemJson } from "../../backends/item_json.ts";
import { startDbusStandIn } from "../support/dbus_stand_in.ts";
import { testRuntime } from "../support/runtime.ts";
import { openKeyring } from "../../backends/mod.ts";
import { lookPath } from "../../lib/process/path_lookup.ts";

const noKeyring = await ignoreWithout(GNOME_KEYRING);
const noSecretTool = noKeyring || await ignoreWithout(SECRET_TOOL);
const enc = new TextEncoder();
const dec = new TextDecoder();

for (const algorithm of [DH_AES, PLAIN] as const) {
  keyringConformance(`secret-service (${algorithm})`, async () => {
    const gk = await startGnomeKeyring();
    await gk.createCollection("awsvault");
    const keyring = openSecretServiceKeyring({ env: gk.env, algorithm });
    return {
      keyring,
      cleanup: async () => {
        await keyring.close();
        await gk.cleanup();
      },
    };
  }, { keepsLabels: true, ignore: noKeyring });
}

/** Runs fn with a fresh gnome-keyring that has the `awsvault` collection, and our keyring. */
async function withKeyring(
  fn: (k: SecretServiceKeyring, gk: GnomeKeyring) => Promise<void>,
  options: { collection?: string; create?: boolean; promptTimeoutMs?: number } = {},
): Promise<void> {
  const gk = await startGnomeKeyring();
  const k = openSecretServiceKeyring({
    env: gk.env,
    collection: options.collection,
    promptTimeoutMs: options.promptTimeoutMs,
  });
  try {
    if (options.create ?? true) await gk.createCollection("awsvault");
    await fn(k, gk);
  } finally {
    await k.close();
    await gk.cleanup();
  }
}

/** Runs secret-tool against the test's bus; `stdin` is the secret for `store`. */
async function secretTool(
  gk: GnomeKeyring,
  args: string[],
  stdin?: string,
): Promise<{ code: number; stdout: string }> {
  const child = new Deno.Command("secret-tool", {
    args,
    env: gk.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  if (stdin !== undefined) await w.write(enc.encode(stdin));
  await w.close();
  const out = await child.output();
  return { code: out.code, stdout: dec.decode(out.stdout) };
}

Deno.test("secret-service: what we store, secret-tool finds: label and profile = key, Item JSON", {
  ignore: noSecretTool,
}, async () => {
  await withKeyring(async (k, gk) => {
    for (const key of ["work", "prôfil/ünï:日本"]) {
      await k.set(newItem({ key, data: enc.encode('{"a":1}'), label: `aws-vault (${key})` }));
      const looked = await secretTool(gk, ["lookup", "profile", key]);
      assert.equal(looked.code, 0);
      assert.deepEqual(
        JSON.parse(looked.stdout),
        JSON.parse(encodeItemJson(newItem({
          key,
          data: enc.encode('{"a":1}'),
          label: `aws-vault (${key})`,
        }))),
      );
      const found = await secretTool(gk, ["search", "--all", "profile", key]);
      assert.match(found.stdout, new RegExp(`^label = ${key}$`, "m"));
      assert.match(found.stdout, /^\[\/\d+\]$/m);
    }
    // Exactly the attributes aws-vault sets, through the API.
    const bus = await connectBus(gk.env.DBUS_SESSION_BUS_ADDRESS);
    try {
      const client = new SecretServiceClient(bus, { promptTimeoutMs: 1000 });
      const [path] = await client.searchItems(collectionPath("awsvault"), { profile: "work" });
      // (gnome-keyring answers every secret's content type as text/plain, so what we send,
      // application/json, is checked against the stand-in in tests/unit/secret_service_test.ts.)
      const attrs = await bus.call({
        destination: "org.freedesktop.secrets",
        path,
        interface: "org.freedesktop.DBus.Properties",
        member: "Get",
        signature: "ss",
        body: ["org.freedesktop.Secret.Item", "Attributes"],
      });
      const map = (attrs.body[0] as { value: Map<string, string> }).value;
      assert.deepEqual(map.get("profile"), "work");
      assert.deepEqual([...map.keys()].filter((a) => !a.startsWith("xdg:")), ["profile"]);
    } finally {
      bus.close();
    }
  });
});

Deno.test("secret-service: what secret-tool stores as aws-vault does, we read and list", {
  ignore: noSecretTool,
}, async () => {
  await withKeyring(async (k, gk) => {
    const json = encodeItemJson(newItem({ key: "old", data: enc.encode('{"AccessKeyID":"A"}') }));
    const stored = await secretTool(gk, [
      "store",
      "--label=old",
      `--collection=${collectionPath("awsvault")}`,
      "profile",
      "old",
    ], json);
    assert.equal(stored.code, 0);
    assert.deepEqual(await k.keys(), ["old"]);
    assert.equal(await k.has("old"), true);
    assert.equal(await k.has("ol"), false);
    assert.equal(dec.decode((await k.get("old"))!.data), '{"AccessKeyID":"A"}');
    assert((await k.getMetadata("old"))?.modificationTime instanceof Date);
    assert.equal(await k.remove("old"), true);
    assert.equal((await secretTool(gk, ["lookup", "profile", "old"])).code, 1);
  });
});

Deno.test("secret-service: an item in another collection with the same label is never read", {
  ignore: noSecretTool,
}, async () => {
  await withKeyring(async (k, gk) => {
    const r = await secretTool(gk, [
      "store",
      "--label=work",
      `--collection=${collectionPath("login")}`,
      "profile",
      "work",
    ], "not ours");
    assert.equal(r.code, 0);
    assert.deepEqual(await k.keys(), []);
    assert.equal(await k.has("work"), false);
    assert.equal(await k.get("work"), undefined);
    assert.equal(await k.getMetadata("work"), undefined);
    assert.equal(await k.remove("work"), false);
    assert.equal((await secretTool(gk, ["lookup", "profile", "work"])).stdout, "not ours");
  });
});

Deno.test(
  "secret-service: a missing collection reads empty; creating it through a dismissed prompt fails cleanly",
  {
    ignore: noKeyring,
  },
  async () => {
    // gnome-keyring asks its system prompter for the new keyring's password; on this headless bus
    // none can start, so the daemon reports the prompt dismissed.
    await withKeyring(async (k) => {
      assert.deepEqual(await k.keys(), []);
      assert.equal(await k.get("work"), undefined);
      assert.equal(await k.remove("work"), false);
      const err = await k.set(newItem({ key: "work", data: enc.encode("x") })).catch((e) => e);
      assert(err instanceof KeyringError, String(err));
      assert.match(err.message, /^cannot store 'work' in the Secret Service: .*prompt.*dismissed/);
      assert.deepEqual(await k.keys(), []);
    }, { collection: "nothere" });
  },
);

Deno.test(
  "secret-service: a locked collection is unlocked through the prompt; dismissed is an error, not data loss",
  {
    ignore: noKeyring,
  },
  async () => {
    await withKeyring(async (k, gk) => {
      await k.set(newItem({ key: "work", data: enc.encode("kept") }));
      await gk.lockCollection(collectionPath("awsvault"));
      assert.deepEqual(await k.keys(), ["work"], "labels are readable while locked");
      for (const op of [() => k.get("work"), () => k.remove("work")]) {
        const err = await op().catch((e) => e);
        assert(err instanceof KeyringError, String(err));
        assert.match(err.message, /prompt for unlocking the keyring 'awsvault' was dismissed/);
      }
      const set = await k.set(newItem({ key: "work", data: enc.encode("new") })).catch((e) => e);
      assert(set instanceof KeyringError);
      // Unlocked again (as the user would at the prompt), the item is intact.
      await gk.unlockCollection(collectionPath("awsvault"));
      assert.equal(dec.decode((await k.get("work"))!.data), "kept");
    });
  },
);

Deno.test(
  "secret-service: foreign item formats fail as one KeyringError; the item stays listable and removable",
  {
    ignore: noSecretTool,
  },
  async () => {
    await withKeyring(async (k, gk) => {
      for (
        const [key, secret] of [["raw", "AKIA-not-json"], ["arr", "[1,2]"], [
          "b64",
          '{"Data":"%%"}',
        ]]
      ) {
        await secretTool(gk, [
          "store",
          `--label=${key}`,
          `--collection=${collectionPath("awsvault")}`,
          "profile",
          key,
        ], secret);
        const err = await k.get(key).catch((e) => e);
        assert(err instanceof KeyringError, `${key}: ${err}`);
        assert.match(err.message, /^cannot read|item (is not|data is not)/);
        assert(!err.message.includes(secret), "the secret is not in the message");
      }
      assert.deepEqual((await k.keys()).sort(), ["arr", "b64", "raw"]);
      for (const key of ["raw", "arr", "b64"]) assert.equal(await k.remove(key), true);
    });
  },
);

Deno.test(
  "secret-service: hostile keys: unicode, slashes, newlines, huge; NUL and broken Unicode refused",
  {
    ignore: noKeyring,
  },
  async () => {
    await withKeyring(async (k) => {
      const huge = "k".repeat(MAX_KEY_BYTES);
      const keys = [...ODD_KEYS, "line\nbreak", "../../etc", "'quote\"", huge];
      for (const key of keys) await k.set(newItem({ key, data: enc.encode(key.slice(0, 9)) }));
      assert.deepEqual((await k.keys()).sort(), [...keys].sort());
      for (const key of keys) {
        assert.equal(dec.decode((await k.get(key))!.data), key.slice(0, 9));
        assert.equal(await k.has(key), true);
      }
      assert.equal(await k.has("oidc:https:"), false, "a prefix is another key");
      for (const bad of ["", "nul\0", "lone\ud800", huge + "k"]) {
        assert.throws(() => k.checkKey(bad), KeyringError, JSON.stringify(bad.slice(0, 9)));
        await assert.rejects(
          () => k.set(newItem({ key: bad, data: enc.encode("x") })),
          KeyringError,
        );
        await assert.rejects(() => k.get(bad), KeyringError);
      }
      assert.equal((await k.keys()).length, keys.length);
    });
  },
);

Deno.test(
  "secret-service: the size limit is the message bound: an item at the limit round-trips, one over is refused",
  {
    ignore: noKeyring,
  },
  async () => {
    await withKeyring(async (k) => {
      const overhead = encodeItemJson(newItem({ key: "big", data: new Uint8Array() })).length;
      const dataBytes = Math.floor((MAX_SECRET_BYTES - overhead) / 4) * 3;
      const data = new Uint8Array(dataBytes).map((_, i) => i % 251);
      await k.set(newItem({ key: "big", data }));
      assert.deepEqual((await k.get("big"))!.data, data);
      const over = new Uint8Array(dataBytes + 3);
      const err = await k.set(newItem({ key: "big", data: over })).catch((e) => e);
      assert(err instanceof KeyringError);
      assert.match(err.message, /over the Secret Service backend's limit of 2097152/);
      assert.deepEqual((await k.get("big"))!.data, data, "the refused write changed nothing");
    });
  },
);

Deno.test("secret-service: concurrent writers on separate connections leave one item per key", {
  ignore: noKeyring,
}, async () => {
  await withKeyring(async (k, gk) => {
    const others = Array.from({ length: 4 }, () => openSecretServiceKeyring({ env: gk.env }));
    try {
      const writes = [k, ...others].flatMap((w, i) =>
        Array.from(
          { length: 5 },
          (_, j) =>
            w.set(newItem({ key: j % 2 ? "shared" : `own-${i}`, data: enc.encode(`${i}.${j}`) })),
        )
      );
      await Promise.all(writes);
      const keys = (await k.keys()).sort();
      assert.deepEqual(keys, ["own-0", "own-1", "own-2", "own-3", "own-4", "shared"]);
      assert.match(dec.decode((await k.get("shared"))!.data), /^\d\.[13]$/);
    } finally {
      for (const o of others) await o.close();
    }
  });
});

Deno.test(
  "secret-service: the daemon or the bus going away is a KeyringError; a new daemon is used",
  {
    ignore: noKeyring,
  },
  async () => {
    await withKeyring(async (k, gk) => {
      await k.set(newItem({ key: "work", data: enc.encode("x") }));
      await gk.stopKeyringDaemon();
      const err = await k.get("work").catch((e) => e);
      assert(err instanceof KeyringError, String(err));
      assert.match(err.message, /no Secret Service is running|did not answer|broke/);
    });
    const gk = await startGnomeKeyring();
    const k = openSecretServiceKeyring({ env: gk.env });
    await gk.createCollection("awsvault");
    await k.keys();
    await gk.cleanup(); // bus and daemon gone
    const err = await k.keys().catch((e) => e);
    await k.close();
    assert(err instanceof KeyringError, String(err));
    assert.match(err.message, /no such socket|broke|connection refused/);
  },
);

Deno.test("secret-service: unavailability is explained, and a hanging bus does not hang it", {
  ignore: noKeyring,
}, async () => {
  assert.match((await secretServiceUnavailable({}))!, /DBUS_SESSION_BUS_ADDRESS is not set/);
  const dir = await Deno.makeTempDir();
  try {
    const why = await secretServiceUnavailable({
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${dir}/no-bus`,
    });
    assert.match(why!, /no such socket/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const hanging = await startDbusStandIn({ auth: "hang" });
  try {
    const why = await secretServiceUnavailable({ DBUS_SESSION_BUS_ADDRESS: hanging.address }, {
      timeoutMs: 200,
    });
    assert.match(why!, /within 200 ms/);
  } finally {
    await hanging.close();
  }
  const empty = await startDbusStandIn({
    onCall: (call, peer) =>
      call.member === "NameHasOwner"
        ? peer.reply(call, "b", [false])
        : peer.reply(call, "as", [["org.example.other"]]),
  });
  try {
    const why = await secretServiceUnavailable({ DBUS_SESSION_BUS_ADDRESS: empty.address });
    assert.match(why!, /nothing owns org\.freedesktop\.secrets/);
  } finally {
    await empty.close();
  }
  const gk = await startGnomeKeyring();
  try {
    assert.equal(await secretServiceUnavailable(gk.env), undefined);
  } finally {
    await gk.cleanup();
  }
});

Deno.test("secret-service: the encrypted transfer session is negotiated with gnome-keyring", {
  ignore: noKeyring,
}, async () => {
  const gk = await startGnomeKeyring();
  const bus = await connectBus(gk.env.DBUS_SESSION_BUS_ADDRESS);
  try {
    const client = new SecretServiceClient(bus, { promptTimeoutMs: 1000 });
    const session = await client.session();
    assert.equal(session.algorithm, DH_AES);
    const sealed = await session.encrypt(enc.encode("s3cr3t"));
    assert.equal(sealed.parameters.length, 16);
    assert(!dec.decode(sealed.value).includes("s3cr3t"));
  } finally {
    bus.close();
    await gk.cleanup();
  }
});

Deno.test(
  "secret-service: the default backend choice needs only the bus (no secret-tool or busctl on PATH)",
  {
    ignore: noKeyring,
  },
  async () => {
    const empty = await Deno.makeTempDir({ prefix: "awsvault-empty-path-" });
    const options = {
      keychain: "aws-vault",
      secretServiceCollection: "awsvault",
      fileDir: `${empty}/vault`,
      keyctlScope: "user",
    };
    const gk = await startGnomeKeyring();
    const noSecrets = await startDbusStandIn({
      onCall: (call, peer) =>
        call.member === "NameHasOwner"
          ? peer.reply(call, "b", [false])
          : peer.reply(call, "as", [[]]),
    });
    try {
      const pick = async (bus: string | undefined) => {
        const rt = testRuntime({
          env: { PATH: empty, ...(bus ? { DBUS_SESSION_BUS_ADDRESS: bus } : {}) },
          home: empty,
        });
        const k = await openKeyring(options, rt);
        await k.close?.();
        return { name: k.name, notice: rt.err.join("") };
      };
      assert.deepEqual(await pick(gk.env.DBUS_SESSION_BUS_ADDRESS), {
        name: "secret-service",
        notice: "",
      });
      // No bus at all is a headless machine: the file backend without a notice.
      assert.deepEqual(await pick(undefined), { name: "file", notice: "" });
      const none = await pick(noSecrets.address);
      assert.equal(none.name, "file");
      assert.match(
        none.notice,
        /^aws-vault: using the file backend because secret-service is unavailable: no Secret Service is running on the session bus/,
      );
      const missing = await pick(`unix:path=${empty}/no-bus`);
      assert.equal(missing.name, "file");
      assert.match(missing.notice, /no such socket/);
      for (const tool of ["secret-tool", "busctl"]) {
        assert.equal(await lookPath(tool, empty), undefined);
      }
    } finally {
      await noSecrets.close();
      await gk.cleanup();
      await Deno.remove(empty, { recursive: true });
    }
  },
);
