/**
 * The passage backend with the real `age` (Debian `age`). Debian has no passage tool (its
 * "passage" package is a game), so tests/support/passage_stand_in.sh plays passage's part.
 */
import assert from "node:assert/strict";
import { keyringConformance } from "../support/keyring_conformance.ts";
import { commandPeer, ignoreWithout, requirePeers } from "../support/peers.ts";
import { openPassKeyring, PASSAGE, type PassOptions } from "../../backends/pass.ts";
import { newItem } from "../../backends/keyring.ts";

const AGE = commandPeer("age", "age", ["--version"]);
const noAge = await ignoreWithout(AGE);
const STAND_IN = new URL("../support/passage_stand_in.sh", import.meta.url).pathname;

interface AgeStore {
  dir: string;
  storeDir: string;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function makeAgeStore(): Promise<AgeStore> {
  await requirePeers(AGE);
  const dir = await Deno.makeTempDir({ prefix: "awsvault-passage-" });
  const storeDir = `${dir}/store`;
  await Deno.mkdir(storeDir, { recursive: true, mode: 0o700 });
  const keygen = await new Deno.Command("age-keygen", {
    args: ["-o", `${dir}/identities`],
    stderr: "piped",
  }).output();
  assert.ok(keygen.success);
  const recipient = /public key: (age1\w+)/i.exec(new TextDecoder().decode(keygen.stderr))![1];
  await Deno.writeTextFile(`${storeDir}/.age-recipients`, `${recipient}\n`);
  return {
    dir,
    storeDir,
    env: {
      HOME: dir,
      PASSAGE_IDENTITIES_FILE: `${dir}/identities`,
      PASSAGE_ARGV_LOG: `${dir}/argv`,
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

function options(store: AgeStore, o: Partial<PassOptions> = {}): PassOptions {
  return { flavour: PASSAGE, storeDir: store.storeDir, passCmd: STAND_IN, env: store.env, ...o };
}

keyringConformance("passage", async () => {
  const store = await makeAgeStore();
  return {
    keyring: openPassKeyring(options(store, { prefix: "aws-vault" })),
    cleanup: store.cleanup,
  };
}, { keepsLabels: true, ignore: noAge });

const enc = new TextEncoder();

Deno.test("passage: .age entries at aws-vault's path, age-encrypted, secrets never in argv", {
  ignore: noAge,
}, async () => {
  const store = await makeAgeStore();
  try {
    const k = openPassKeyring(options(store));
    assert.equal(k.name, "passage");
    await k.set(newItem({ key: "team/dev", data: enc.encode("SECRET-VALUE-123") }));
    const raw = await Deno.readFile(`${store.storeDir}/team/dev.age`);
    assert.match(new TextDecoder().decode(raw.subarray(0, 40)), /^age-encryption\.org\/v1/);
    assert.ok(!new TextDecoder().decode(raw).includes("SECRET-VALUE"));
    // Decrypted by age itself: aws-vault's Item JSON.
    const out = await new Deno.Command("age", {
      args: ["-d", "-i", `${store.dir}/identities`, `${store.storeDir}/team/dev.age`],
    }).output();
    assert.equal(JSON.parse(new TextDecoder().decode(out.stdout)).Key, "team/dev");
    assert.equal(new TextDecoder().decode((await k.get("team/dev"))!.data), "SECRET-VALUE-123");
    // Root entries of the user's: never listed, never overwritten.
    const userEntry = `${store.storeDir}/mail.age`;
    await Deno.writeTextFile(userEntry, "not ours");
    assert.deepEqual(await k.keys(), []);
    await assert.rejects(
      () => k.set(newItem({ key: "mail", data: enc.encode("x") })),
      /passage entry 'mail' exists and is not an aws-vault item/,
    );
    assert.equal(await Deno.readTextFile(userEntry), "not ours");
    const session = "sts.GetSessionToken,ZGV2,,1700000000";
    await k.set(newItem({ key: session, data: enc.encode("S") }));
    assert.deepEqual(await k.keys(), [session]);
    assert.equal(await k.remove("team/dev"), true);
    assert.equal(await k.get("team/dev"), undefined);
    const argv = await Deno.readTextFile(`${store.dir}/argv`);
    assert.ok(!argv.includes("SECRET-VALUE"), argv);
    assert.ok(argv.split("\n").some((l) => l.startsWith("insert -m -f -- team/dev")), argv);
  } finally {
    await store.cleanup();
  }
});

Deno.test(
  "passage: chosen with --backend passage and the --passage-* flags (or PASSAGE_DIR)",
  {
    ignore: noAge,
  },
  async () => {
    const { runCli } = await import("../support/cli.ts");
    const store = await makeAgeStore();
    try {
      const env = {
        ...store.env,
        AWS_CONFIG_FILE: `${store.dir}/config`,
        AWS_ACCESS_KEY_ID: "AKIAPASSAGE",
        AWS_SECRET_ACCESS_KEY: "passage-secret",
      };
      const flags = ["--backend=passage", `--passage-cmd=${STAND_IN}`];
      const add = await runCli(
        ["add", ...flags, `--passage-dir=${store.storeDir}`, "--passage-prefix=av", "--env", "w"],
        { env },
      );
      assert.equal(add.code, 0, add.stderr);
      await Deno.stat(`${store.storeDir}/av/w.age`);
      const list = await runCli(["list", "--credentials", ...flags, "--passage-prefix=av"], {
        env: { ...env, PASSAGE_DIR: store.storeDir },
      });
      assert.equal(list.stdout, "w\n", list.stderr);
      // ByteNess's spelling: passage reads the pass flags and variables; ours come first.
      const passFlags = [
        [
          "--backend=passage",
          `--pass-cmd=${STAND_IN}`,
          `--pass-dir=${store.storeDir}`,
          "--pass-prefix=av",
        ],
        ["--backend=passage", `--passage-cmd=${STAND_IN}`, "--pass-cmd=/nonexistent/pass"],
      ];
      for (const args of passFlags) {
        const r = await runCli(["list", "--credentials", ...args], {
          env: {
            ...env,
            AWS_VAULT_PASS_PASSWORD_STORE_DIR: store.storeDir,
            AWS_VAULT_PASS_PREFIX: "av",
          },
        });
        assert.equal(r.stdout, "w\n", `${args.join(" ")}: ${r.stderr}`);
      }
      // An explicit empty --passage-prefix is the store's root, whatever the pass prefix says.
      const atRoot = await runCli(
        ["add", ...flags, `--passage-dir=${store.storeDir}`, "--passage-prefix=", "--env", "r"],
        { env: { ...env, AWS_VAULT_PASS_PREFIX: "av" } },
      );
      assert.equal(atRoot.code, 0, atRoot.stderr);
      await Deno.stat(`${store.storeDir}/r.age`);
      const byEnv = await runCli(["list", "--credentials"], {
        env: {
          ...env,
          AWS_VAULT_BACKEND: "passage",
          AWS_VAULT_PASS_CMD: STAND_IN,
          AWS_VAULT_PASS_PASSWORD_STORE_DIR: store.storeDir,
          AWS_VAULT_PASS_PREFIX: "av",
          PASSAGE_DIR: `${store.dir}/elsewhere`,
        },
      });
      assert.equal(byEnv.stdout, "w\n", byEnv.stderr);
      const missing = await runCli([
        "list",
        "--backend=passage",
        "--passage-cmd=/nonexistent/passage",
      ], {
        env,
      });
      assert.equal(missing.code, 1);
      assert.match(
        missing.stderr,
        /backend 'passage' is not available: '\/nonexistent\/passage' is not installed/,
      );
    } finally {
      await store.cleanup();
    }
  },
);
