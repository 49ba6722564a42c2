/** The pass backend against real pass + gpg with a throwaway key and store. */
import assert from "node:assert/strict";
import { keyringConformance } from "../support/keyring_conformance.ts";
import { makePassStore, PASS_GPG, type PassStore } from "../support/gpg_pass.ts";
import { ignoreWithout } from "../support/peers.ts";
import { openPassKeyring, type PassOptions } from "../../backends/pass.ts";
import { type Keyring, KeyringError, newItem } from "../../backends/keyring.ts";
import { encodeItemJson } from "../../backends/item_json.ts";

const noPass = await ignoreWithout(PASS_GPG);

/** The test store, with pass and gpg pointed at its key (never through our own environment: test modules share it when they run in parallel). */
function passOptions(store: PassStore, o: Partial<PassOptions> = {}): PassOptions {
  return { storeDir: store.storeDir, env: { GNUPGHOME: store.gnupgHome }, ...o };
}

/** Runs fn with a fresh store. */
async function withStore(
  fn: (store: PassStore, open: (o?: Partial<PassOptions>) => Keyring) => Promise<void>,
): Promise<void> {
  const store = await makePassStore();
  try {
    await fn(store, (o = {}) => openPassKeyring(passOptions(store, o)));
  } finally {
    await store.cleanup();
  }
}

// With a prefix, as aws-vault's docs recommend: at the store root keys() lists only names it can
// tell are aws-vault's (the test below), so the user's own passwords are never decrypted.
keyringConformance("pass", async () => {
  const store = await makePassStore();
  return {
    keyring: openPassKeyring(passOptions(store, { prefix: "aws-vault" })),
    cleanup: store.cleanup,
  };
}, { keepsLabels: true, ignore: noPass });

const enc = new TextEncoder();

/** Inserts an entry the way a user (or aws-vault without a prefix) would. */
async function insert(store: PassStore, name: string, content: string): Promise<void> {
  const child = new Deno.Command("pass", {
    args: ["insert", "-m", "-f", name],
    env: store.env,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(enc.encode(content));
  await w.close();
  assert.equal((await child.status).code, 0);
}

Deno.test("pass: entries go where aws-vault puts them (the store root) as Item JSON", {
  ignore: noPass,
}, async () => {
  await withStore(async (store, open) => {
    await open().set(newItem({ key: "work", data: enc.encode("{}"), label: "aws-vault (work)" }));
    await Deno.stat(`${store.storeDir}/work.gpg`);
    const out = await new Deno.Command("pass", { args: ["show", "work"], env: store.env })
      .output();
    const json = JSON.parse(new TextDecoder().decode(out.stdout));
    assert.deepEqual(Object.keys(json), [
      "Key",
      "Data",
      "Label",
      "Description",
      "KeychainNotTrustApplication",
      "KeychainNotSynchronizable",
    ]);
    assert.equal(json.Key, "work");
    assert.equal(json.Data, "e30=");
  });
});

Deno.test("pass: keys() ignores the user's own passwords but finds aws-vault's root items", {
  ignore: noPass,
}, async () => {
  await withStore(async (store, open) => {
    const session = "sts.GetSessionToken,d29yaw,,1700000000";
    await insert(store, "email/gmail", "hunter2\n");
    await insert(store, "bank", "not json");
    await insert(store, "ops", "also a user password named like a profile");
    await insert(
      store,
      "legacy",
      encodeItemJson(newItem({ key: "legacy", data: enc.encode("L") })),
    );
    await insert(store, session, encodeItemJson(newItem({ key: session, data: enc.encode("S") })));
    // aws-vault (no prefix) wrote oidc keys with `//` collapsed into folders.
    const oidc = "oidc:https://x.awsapps.com/start";
    await insert(
      store,
      "oidc:https:/x.awsapps.com/start",
      encodeItemJson(newItem({ key: oidc, data: enc.encode("O") })),
    );
    const k = open({ profileNames: () => Promise.resolve(new Set(["legacy", "ops"])) });
    assert.deepEqual((await k.keys()).sort(), [oidc, "legacy", session].sort());
    assert.equal(new TextDecoder().decode((await k.get("legacy"))!.data), "L");
    assert.equal(new TextDecoder().decode((await k.get(oidc))!.data), "O");
    assert.equal(await k.get("bank"), undefined, "a user's password is not an item");
    assert.equal(await k.remove("bank"), false);
    await Deno.stat(`${store.storeDir}/bank.gpg`);
    assert.equal(await k.remove("legacy"), true);
    assert.equal(await k.get("legacy"), undefined);
  });
});

Deno.test(
  "pass: an explicit prefix reads aws-vault's unescaped entries",
  { ignore: noPass },
  async () => {
    await withStore(async (store, open) => {
      const oidc = "oidc:https://x.awsapps.com/start";
      await insert(
        store,
        "team/oidc:https:/x.awsapps.com/start",
        encodeItemJson(newItem({ key: oidc, data: enc.encode("O") })),
      );
      await insert(store, "team/p1", encodeItemJson(newItem({ key: "p1", data: enc.encode("P") })));
      const k = open({ prefix: "team" });
      assert.deepEqual((await k.keys()).sort(), ["oidc:https:/x.awsapps.com/start", "p1"]);
      assert.equal(new TextDecoder().decode((await k.get(oidc))!.data), "O");
      assert.equal(new TextDecoder().decode((await k.get("p1"))!.data), "P");
    });
  },
);

Deno.test("pass: an uninitialised store and a missing pass give one-line errors", {
  ignore: noPass,
}, async () => {
  await withStore(async (store, open) => {
    await Deno.remove(`${store.storeDir}/.gpg-id`);
    await assert.rejects(
      () => open().set(newItem({ key: "x", data: enc.encode("s3cr3t-value") })),
      (e: unknown) => {
        assert(e instanceof KeyringError);
        assert.match(e.message, /^cannot store .x.: pass: Error: You must run: pass init/);
        assert(!e.message.includes("\n") && !e.message.includes("s3cr3t"));
        return true;
      },
    );
    await assert.rejects(
      () =>
        open({ passCmd: "/nonexistent/pass" }).set(newItem({ key: "x", data: enc.encode("v") })),
      /'\/nonexistent\/pass' is not installed/,
    );
  });
});

Deno.test(
  "pass: a gpg failure on read is a clear error, never a silent miss",
  { ignore: noPass },
  async () => {
    await withStore(async (store, open) => {
      await open({ prefix: "team" }).set(newItem({ key: "work", data: enc.encode("v") }));
      await Deno.writeFile(`${store.storeDir}/team/work.gpg`, enc.encode("garbage"));
      await assert.rejects(
        () => open({ prefix: "team" }).get("work"),
        /cannot read 'team\/work': pass: /,
      );
    });
  },
);

Deno.test(
  "pass: a key with a '..' path part never reaches outside the store",
  { ignore: noPass },
  async () => {
    await withStore(async (store, open) => {
      // A file a key like `../secret` would name if paths were joined as aws-vault joins them.
      await Deno.writeTextFile(`${store.storeDir}/../outside.gpg`, "not ours");
      for (const key of ["../outside", "a/../../outside", ".."]) {
        await assert.rejects(() => open().get(key), /has a '.' or '..' path part/, key);
        await assert.rejects(
          () => open().set(newItem({ key, data: enc.encode("v") })),
          /has a '.' or '..' path part/,
          key,
        );
      }
      await Deno.remove(`${store.storeDir}/../outside.gpg`);
    });
  },
);

Deno.test(
  "pass: aws-vault's layout both ways, the old aws-vault/ folder read, no password touched",
  {
    ignore: noPass,
  },
  async () => {
    await withStore(async (store, open) => {
      // aws-vault (empty prefix) stored a key added with --no-add-config: no config profile names
      // it, yet it is found by name.
      await insert(store, "bare", encodeItemJson(newItem({ key: "bare", data: enc.encode("B") })));
      // This program's earlier default folder.
      await insert(
        store,
        "aws-vault/old",
        encodeItemJson(newItem({ key: "old", data: enc.encode("O") })),
      );
      await insert(store, "github", "user password\n");
      const k = open({ profileNames: () => Promise.resolve(new Set(["github"])) });
      assert.equal(new TextDecoder().decode((await k.get("bare"))!.data), "B");
      assert.equal(new TextDecoder().decode((await k.get("old"))!.data), "O");
      assert.deepEqual((await k.keys()).sort(), ["old"]);
      assert.equal(await k.get("github"), undefined);
      // A profile named like one of the user's passwords never overwrites it.
      await assert.rejects(
        () => k.set(newItem({ key: "github", data: enc.encode("{}") })),
        /pass entry 'github' exists and is not an aws-vault item: not overwritten/,
      );
      const show = async (name: string) =>
        new TextDecoder().decode(
          (await new Deno.Command("pass", { args: ["show", name], env: store.env }).output())
            .stdout,
        );
      assert.equal(await show("github"), "user password\n");
      // Names with / and : are written as aws-vault writes them; a rewrite moves an old copy.
      for (const key of ["team/dev", "acme:prod", "old"]) {
        await k.set(newItem({ key, data: enc.encode(key) }));
      }
      await Deno.stat(`${store.storeDir}/team/dev.gpg`);
      await Deno.stat(`${store.storeDir}/acme:prod.gpg`);
      await Deno.stat(`${store.storeDir}/old.gpg`);
      await assert.rejects(Deno.stat(`${store.storeDir}/aws-vault/old.gpg`), Deno.errors.NotFound);
      assert.equal(JSON.parse(await show("team/dev")).Key, "team/dev");
      // A key that is no clean path is escaped so it round-trips.
      const odd = "oidc:https://x.awsapps.com/start";
      await k.set(newItem({ key: odd, data: enc.encode("T") }));
      await Deno.stat(`${store.storeDir}/oidc:https:%2F%2Fx.awsapps.com%2Fstart.gpg`);
      assert.ok((await k.keys()).includes(odd));
      assert.equal(new TextDecoder().decode((await k.get(odd))!.data), "T");
      assert.equal(await k.remove("bare"), true);
      assert.equal(await k.get("bare"), undefined);
    });
  },
);

Deno.test(
  "pass: an rm that exits 0 but leaves the entry is an error, not a loop",
  { ignore: noPass },
  async () => {
    await withStore(async (store, open) => {
      // pass ends with `exit 0` whatever its `rm` did (a read-only folder): this one fails twice.
      const wrapper = `${store.home}/pass-rm-fails`;
      await Deno.writeTextFile(
        wrapper,
        `#!/bin/sh
if [ "$1" = rm ]; then
  n=$(cat "$0.count" 2>/dev/null || echo 0); echo $((n + 1)) > "$0.count"
  if [ "$n" -lt 2 ]; then echo "rm: cannot remove 'x': Permission denied" >&2; exit 0; fi
fi
exec pass "$@"
`,
        { mode: 0o700 },
      );
      await open().set(newItem({ key: "work", data: enc.encode("{}") }));
      await assert.rejects(
        () => open({ passCmd: wrapper }).remove("work"),
        /^KeyringError: cannot remove 'work': .*pass-rm-fails: rm: cannot remove 'x': Permission denied/,
      );
      assert.equal(await Deno.readTextFile(`${wrapper}.count`), "1\n");
      await Deno.stat(`${store.storeDir}/work.gpg`);
    });
  },
);
