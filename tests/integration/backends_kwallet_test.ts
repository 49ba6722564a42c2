/**
 * The kwallet backend against a real kwalletd5 (Debian libkf5wallet-bin) on a private session
 * bus, headless: the conformance suite, aws-vault's storage layout read back through busctl and
 * kwallet-query, and the bad-input class (no daemon, denied access, a wallet closed under us,
 * a hanging or dying daemon, a dead bus, hostile keys, huge values, garbage entries).
 */
import assert from "node:assert/strict";
import { keyringConformance } from "../support/keyring_conformance.ts";
import { KWALLETD, type Kwalletd, startKwalletd } from "../support/kwalletd.ts";
import { ignoreWithout } from "../support/peers.ts";
import {
  KWALLET_MAX_ITEM_BYTES,
  type KwalletKeyring,
  type KwalletOptions,
  kwalletUnavailable,
  openKwalletKeyring,
} from "../../backends/kwallet.ts";
import { KeyringError, newItem } from "../../backends/keyring.ts";
import { encodeItemJson } from "../../backends/item_json.ts";

const ignore = await ignoreWithout(KWALLETD);
const enc = new TextEncoder();
const dec = new TextDecoder();

keyringConformance("kwallet", async () => {
  const kd = await startKwalletd();
  const keyring = openKwalletKeyring({ env: kd.env });
  return {
    keyring,
    cleanup: async () => {
      await keyring.close();
      await kd.cleanup();
    },
  };
}, { keepsLabels: true, ignore });

/** Runs `fn` with a fresh kwalletd and a keyring on it; cleans up both. */
async function withKwallet(
  fn: (kd: Kwalletd, open: (o?: Partial<KwalletOptions>) => KwalletKeyring) => Promise<void>,
  options: Parameters<typeof startKwalletd>[0] = {},
): Promise<void> {
  const kd = await startKwalletd(options);
  const opened: KwalletKeyring[] = [];
  try {
    await fn(kd, (o = {}) => {
      const k = openKwalletKeyring({ env: kd.env, ...o });
      opened.push(k);
      return k;
    });
  } finally {
    for (const k of opened) await k.close();
    await kd.cleanup();
  }
}

/** A handle of our own on the wallet, as another application (busctl) sees it. */
async function foreignHandle(kd: Kwalletd, appid = "aws-vault"): Promise<string> {
  return (await kd.busctl("open", "sxs", "aws-vault", "0", appid)).split(" ")[1];
}

Deno.test(
  "kwallet: items are aws-vault's: wallet and folder aws-vault, Item JSON as a stream entry",
  {
    ignore,
  },
  async () => {
    await withKwallet(async (kd, open) => {
      const k = open();
      await k.set(newItem({ key: "work", data: enc.encode('{"a":1}'), label: "aws-vault (work)" }));
      const h = await foreignHandle(kd);
      // KWallet::Wallet::EntryType: Password 1, Stream 2, Map 3.
      assert.equal(
        await kd.busctl("entryType", "isss", h, "aws-vault", "work", "aws-vault"),
        "i 2",
      );
      const raw = await kd.busctl("readEntry", "isss", h, "aws-vault", "work", "aws-vault");
      const [, , ...byteText] = raw.split(" ");
      const json = JSON.parse(dec.decode(new Uint8Array(byteText.map(Number))));
      assert.deepEqual(json, {
        Key: "work",
        Data: btoa('{"a":1}'),
        Label: "aws-vault (work)",
        Description: "",
        KeychainNotTrustApplication: false,
        KeychainNotSynchronizable: false,
      });
      // KDE's own client lists it in that wallet and folder.
      const q = await new Deno.Command("kwallet-query", {
        args: ["-l", "-f", "aws-vault", "aws-vault"],
        env: { ...kd.env, QT_QPA_PLATFORM: "offscreen" },
        stdout: "piped",
        stderr: "null",
      }).output();
      assert.equal(dec.decode(q.stdout).trim(), "work");

      // An entry written by another client as aws-vault writes it is read back.
      const theirs = enc.encode(encodeItemJson(newItem({ key: "theirs", data: enc.encode("x") })));
      await kd.busctl(
        "writeEntry",
        "issays",
        h,
        "aws-vault",
        "theirs",
        String(theirs.length),
        ...Array.from(theirs, String),
        "aws-vault",
      );
      assert.equal(dec.decode((await k.get("theirs"))!.data), "x");
      assert.deepEqual((await k.keys()).sort(), ["theirs", "work"]);
    });
  },
);

Deno.test("kwallet: --kwallet-folder keeps items apart", { ignore }, async () => {
  await withKwallet(async (_kd, open) => {
    const a = open();
    const b = open({ folder: "other folder/ü" });
    await a.set(newItem({ key: "p", data: enc.encode("a") }));
    await b.set(newItem({ key: "p", data: enc.encode("b") }));
    assert.equal(dec.decode((await a.get("p"))!.data), "a");
    assert.equal(dec.decode((await b.get("p"))!.data), "b");
    assert.equal(await b.remove("p"), true);
    assert.deepEqual(await b.keys(), []);
    assert.deepEqual(await a.keys(), ["p"]);
    assert.throws(() => openKwalletKeyring({ env: {}, folder: "" }), KeyringError);
  });
});

Deno.test(
  "kwallet: no bus, kwalletd not running, or not startable",
  { ignore },
  async () => {
    assert.match((await kwalletUnavailable({}, { activate: true }))!, /DBUS_SESSION_BUS_ADDRESS/);
    const dir = await Deno.makeTempDir();
    try {
      const why = await kwalletUnavailable({ DBUS_SESSION_BUS_ADDRESS: `unix:path=${dir}/none` }, {
        activate: true,
      });
      assert.match(why!, /cannot connect/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    await withKwallet(async (kd, open) => {
      assert.match((await kwalletUnavailable(kd.env, { activate: true }))!, /no kwalletd/);
      const k = open();
      await assert.rejects(
        () => k.keys(),
        /^KeyringError: cannot list KWallet entries: no kwalletd is running/,
      );
    }, { noDaemon: true });
    // A kwalletd the bus can start counts only when asked for explicitly.
    await withKwallet(async (kd) => {
      assert.match((await kwalletUnavailable(kd.env, { activate: false }))!, /not running/);
      assert.equal(await kwalletUnavailable(kd.env, { activate: true }), undefined);
    }, { noDaemon: true, activatable: true });
    await withKwallet(async (kd) => {
      assert.equal(await kwalletUnavailable(kd.env, { activate: false }), undefined);
    });
  },
);

Deno.test("kwallet: access denied (open returns -1) is one clear error", { ignore }, async () => {
  await withKwallet(async (_kd, open) => {
    const k = open();
    for (
      const op of [
        () => k.keys(),
        () => k.get("p"),
        () => k.set(newItem({ key: "p", data: enc.encode("v") })),
      ]
    ) {
      await assert.rejects(op, (err: Error) => {
        assert(err instanceof KeyringError);
        assert.match(err.message, /access to the wallet 'aws-vault' was denied/);
        return true;
      });
    }
  }, { kwalletrc: ["[Auto Deny]", "aws-vault=aws-vault"] });
});

Deno.test(
  "kwallet: a wallet closed under us is opened again, never read as empty",
  { ignore },
  async () => {
    await withKwallet(async (kd, open) => {
      const k = open({ openTimeoutMs: 1500 });
      await k.set(newItem({ key: "work", data: enc.encode("v") }));
      // Closed and unlocked again elsewhere (pam_kwallet, kwalletmanager): our handle is stale.
      await kd.busctl("close", "sb", "aws-vault", "true");
      await kd.unlock("aws-vault");
      assert.equal(dec.decode((await k.get("work"))!.data), "v");
      assert.deepEqual(await k.keys(), ["work"]);
      // Our app's session dropped while the wallet stays open (kwalletmanager's "disconnect").
      await kd.busctl("disconnectApplication", "ss", "aws-vault", "aws-vault");
      assert.deepEqual(await k.keys(), ["work"]);
      assert.equal(await k.has!("work"), true);
      // Closed and locked: opening needs the password dialog nobody answers: a deadline, no "empty".
      await kd.busctl("close", "sb", "aws-vault", "true");
      await assert.rejects(
        () => k.keys(),
        /did not open the wallet 'aws-vault' within 1500 ms \(is a password dialog waiting\?\)/,
      );
      await assert.rejects(() => k.get("work"), KeyringError);
      await assert.rejects(() => k.remove("work"), KeyringError);
    });
  },
);

Deno.test("kwallet: a hanging daemon hits the deadline; a dying one is an error, not a hang", {
  ignore,
}, async () => {
  await withKwallet(async (kd, open) => {
    const k = open({ callTimeoutMs: 1000 });
    await k.set(newItem({ key: "work", data: enc.encode("v") }));
    kd.signal("SIGSTOP");
    await assert.rejects(
      () => k.keys(),
      /^KeyringError: cannot list KWallet entries: kwalletd did not answer entryList within 1 s$/,
    );
    kd.signal("SIGCONT");
    assert.deepEqual(await k.keys(), ["work"]);

    const slow = open({ callTimeoutMs: 30_000 });
    assert.deepEqual(await slow.keys(), ["work"]);
    kd.signal("SIGSTOP");
    const pending = slow.get("work");
    await new Promise((r) => setTimeout(r, 200));
    kd.signal("SIGKILL");
    await assert.rejects(
      () => pending,
      /^KeyringError: cannot read 'work' from KWallet: kwalletd ended before answering readEntry$/,
    );
    // A new kwalletd (wallet unlocked again) serves the same keyring: the item was synced to disk.
    await kd.restart();
    assert.equal(dec.decode((await slow.get("work"))!.data), "v");
  });
});

Deno.test(
  "kwallet: a stored item survives kwalletd being killed right after set",
  { ignore },
  async () => {
    await withKwallet(async (kd, open) => {
      const k = open();
      await k.set(newItem({ key: "fresh", data: enc.encode("kept") }));
      assert.equal(await k.remove("fresh"), true);
      await k.set(newItem({ key: "fresh2", data: enc.encode("kept") }));
      kd.signal("SIGKILL");
      await kd.restart();
      assert.deepEqual(await k.keys(), ["fresh2"]);
      assert.equal(dec.decode((await k.get("fresh2"))!.data), "kept");
    });
  },
);

Deno.test("kwallet: the bus going away is an error on the next call", { ignore }, async () => {
  const kd = await startKwalletd();
  const k = openKwalletKeyring({ env: kd.env });
  try {
    await k.set(newItem({ key: "work", data: enc.encode("v") }));
  } finally {
    await kd.cleanup();
  }
  await assert.rejects(() => k.keys(), (err: Error) => {
    assert(err instanceof KeyringError);
    assert.match(
      err.message,
      /^cannot list KWallet entries: (cannot connect|the session bus connection ended)/,
    );
    return true;
  });
  await k.close();
});

Deno.test(
  "kwallet: hostile keys are refused before any call or stored verbatim",
  { ignore },
  async () => {
    await withKwallet(async (_kd, open) => {
      const k = open();
      for (const key of ["", "a\0b", "lone \ud800 surrogate", "k".repeat(64 * 1024 + 1)]) {
        assert.throws(() => k.checkKey!(key), KeyringError);
        await assert.rejects(() => k.set(newItem({ key, data: enc.encode("v") })), KeyringError);
        await assert.rejects(() => k.get(key), KeyringError);
        await assert.rejects(() => k.remove(key), KeyringError);
      }
      const odd = [
        "line\nbreak",
        "tab\there",
        "'quote\"",
        "../../etc/passwd",
        "x".repeat(20_000),
        "emoji 🔑",
        " leading and trailing ",
      ];
      for (const key of odd) await k.set(newItem({ key, data: enc.encode(key.slice(0, 10)) }));
      assert.deepEqual((await k.keys()).sort(), [...odd].sort());
      for (const key of odd) assert.equal(dec.decode((await k.get(key))!.data), key.slice(0, 10));
    });
  },
);

Deno.test(
  "kwallet: huge values are refused whole; values up to the limit round-trip",
  { ignore },
  async () => {
    await withKwallet(async (_kd, open) => {
      const k = open();
      const tooBig = new Uint8Array(KWALLET_MAX_ITEM_BYTES).fill(0x41);
      await assert.rejects(
        () => k.set(newItem({ key: "big", data: tooBig })),
        /cannot store 'big' in KWallet: the item is \d+ bytes, over the limit of 1048576/,
      );
      assert.equal(await k.get("big"), undefined);
      const fits = new Uint8Array(700 * 1024);
      for (let i = 0; i < fits.length; i++) fits[i] = i % 251;
      await k.set(newItem({ key: "big", data: fits }));
      assert.deepEqual((await k.get("big"))!.data, fits);
    });
  },
);

Deno.test("kwallet: an entry that is not Item JSON is an error naming it, and still listed", {
  ignore,
}, async () => {
  await withKwallet(async (kd, open) => {
    const k = open();
    const h = await foreignHandle(kd);
    await kd.busctl(
      "writeEntry",
      "issays",
      h,
      "aws-vault",
      "junk",
      "3",
      "1",
      "2",
      "255",
      "aws-vault",
    );
    await kd.busctl("writePassword", "issss", h, "aws-vault", "pw", "hunter2", "aws-vault");
    await assert.rejects(
      () => k.get("junk"),
      /^KeyringError: KWallet item 'junk': item is not UTF-8 text$/,
    );
    await assert.rejects(() => k.get("pw"), (err: Error) => {
      assert(err instanceof KeyringError);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
    assert.deepEqual((await k.keys()).sort(), ["junk", "pw"]);
  });
});

Deno.test(
  "kwallet: two clients (as two processes) writing at once both land",
  { ignore },
  async () => {
    await withKwallet(async (_kd, open) => {
      const a = open();
      const b = open();
      const keys = (p: string) => Array.from({ length: 8 }, (_, i) => `${p}-${i}`);
      await Promise.all([
        ...keys("a").map((key) => a.set(newItem({ key, data: enc.encode(key) }))),
        ...keys("b").map((key) => b.set(newItem({ key, data: enc.encode(key) }))),
      ]);
      assert.deepEqual((await a.keys()).sort(), [...keys("a"), ...keys("b")].sort());
      for (const key of keys("a")) assert.equal(dec.decode((await b.get(key))!.data), key);
      // One client removing what the other lists: the other sees it gone, never an error.
      await Promise.all(keys("b").map((key) => a.remove(key)));
      assert.deepEqual((await b.keys()).sort(), keys("a").sort());
      assert.equal(await b.remove("b-0"), false);
    });
  },
);
