/**
 * The op backend (1Password CLI) against the recording `op` stand-in (tests/support/
 * op_stand_in.py, written from 1Password's CLI documentation): the shared conformance suite,
 * ByteNess's item layout, secrets only on stdin and the token only in op's environment, the
 * user's own items never touched, and every failure one clear KeyringError.
 */
import assert from "node:assert/strict";
import { keyringConformance } from "../support/keyring_conformance.ts";
import { commandPeer, ignoreWithout } from "../support/peers.ts";
import { makeOpAccount, OP_TOKEN, OP_VAULT_ID, type OpAccount } from "../support/op_stand_in.ts";
import { openOpKeyring, type OpOptions } from "../../backends/op.ts";
import { type Keyring, KeyringError, newItem } from "../../backends/keyring.ts";
import { encodeItemJson } from "../../backends/item_json.ts";

const PYTHON = commandPeer("python3", "python3", ["-c", "import fcntl, json"]);
const noPython = await ignoreWithout(PYTHON);
const enc = new TextEncoder();
const dec = new TextDecoder();

function open(account: OpAccount, options: Partial<OpOptions> = {}): Keyring {
  return openOpKeyring({
    vaultId: OP_VAULT_ID,
    cmd: account.op,
    token: OP_TOKEN,
    env: { PATH: "/usr/bin:/bin", ...account.env },
    ...options,
  });
}

async function withAccount(fn: (account: OpAccount) => Promise<void>): Promise<void> {
  const account = await makeOpAccount();
  try {
    await fn(account);
  } finally {
    await account.cleanup();
  }
}

/** An item as ByteNess aws-vault's 1Password backend stores it (or a user's look-alike). */
function opItem(
  id: string,
  title: string,
  fields: Array<Record<string, unknown>>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    title,
    version: 1,
    vault: { id: OP_VAULT_ID, name: "Private" },
    category: "API_CREDENTIAL",
    tags: ["aws-vault"],
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-02T03:04:05Z",
    fields,
    ...extra,
  };
}

function keyringField(value: string): Record<string, unknown> {
  return { id: "keyringfield", type: "CONCEALED", label: "keyring", value };
}

async function rejectsWith(fn: () => Promise<unknown>, pattern: RegExp): Promise<KeyringError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof KeyringError, String(err));
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), err.message);
    return err;
  }
  assert.fail(`expected a KeyringError matching ${pattern}`);
}

keyringConformance("op", async () => {
  const account = await makeOpAccount();
  return { keyring: open(account), cleanup: account.cleanup };
}, { keepsLabels: true, ignore: noPython });

Deno.test("op: ByteNess's item layout; the secret only on stdin, the token only in op's env", {
  ignore: noPython,
}, () =>
  withAccount(async (account) => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY";
    const k = open(account, {
      env: {
        PATH: "/usr/bin:/bin",
        ...account.env,
        OP_CONNECT_HOST: "http://connect.invalid",
        OP_CONNECT_TOKEN: "connect-token",
        AWS_VAULT_OP_SERVICE_ACCOUNT_TOKEN: OP_TOKEN,
        OP_SERVICE_ACCOUNT_TOKEN: "ops_some_other_token",
      },
    });
    const item = newItem({
      key: "work",
      data: enc.encode(`{"AccessKeyID":"AKIAEXAMPLE","SecretAccessKey":"${secret}"}`),
      label: "aws-vault (work)",
      description: "aws-vault credentials",
    });
    await k.set(item);
    const [stored] = await account.items();
    assert.equal(stored.title, "aws-vault: work");
    assert.deepEqual(stored.tags, ["aws-vault"]);
    assert.equal(stored.category, "API_CREDENTIAL");
    const fields = stored.fields as Array<Record<string, string>>;
    assert.deepEqual(fields.map((f) => [f.type, f.label]), [["CONCEALED", "keyring"]]);
    assert.equal(fields[0].value, encodeItemJson(item));
    // An update edits that item in place (same id), again through stdin.
    await k.set({ ...item, data: enc.encode(`{"SecretAccessKey":"${secret}2"}`) });
    const after = await account.items();
    assert.equal(after.length, 1);
    assert.equal(after[0].id, stored.id);
    assert.equal(dec.decode((await k.get("work"))!.data), `{"SecretAccessKey":"${secret}2"}`);

    const calls = await account.calls();
    const b64 = btoa(secret).slice(0, 20);
    for (const call of calls) {
      const argv = call.argv.join(" ");
      assert.ok(!argv.includes(OP_TOKEN) && !argv.includes(b64) && !argv.includes(secret), argv);
      assert.equal(call.token, OP_TOKEN, "our token, not the other one in the environment");
      assert.deepEqual(call.others, [], "no Connect settings or aws-vault tokens reach op");
    }
    const create = calls.find((c) => c.argv[1] === "create")!;
    assert.deepEqual(create.argv, [
      "item",
      "create",
      "-",
      `--vault=${OP_VAULT_ID}`,
      "--tags=aws-vault",
      "--format=json",
    ]);
    assert.ok(create.stdin.includes(btoa(`{"AccessKeyID":"AKIAEXAMPLE"`).slice(0, 16)));
    const edit = calls.find((c) => c.argv[1] === "edit")!;
    assert.deepEqual(edit.argv, [
      "item",
      "edit",
      stored.id,
      `--vault=${OP_VAULT_ID}`,
      "--format=json",
    ]);
    assert.ok(edit.stdin.length > 0);
  }));

Deno.test("op: reads items ByteNess aws-vault stored, with custom prefix and tag too", {
  ignore: noPython,
}, () =>
  withAccount(async (account) => {
    const theirs = newItem({ key: "legacy", data: enc.encode("THEIR-DATA"), label: "l" });
    await account.addItem(opItem("byteness0000000000000000a1", "aws-vault: legacy", [
      keyringField(encodeItemJson(theirs)),
    ]));
    await account.addItem(opItem("byteness0000000000000000a2", "team: prod", [
      keyringField(encodeItemJson(newItem({ key: "prod", data: enc.encode("P") }))),
    ], { tags: ["ops"] }));
    const k = open(account);
    assert.deepEqual(await k.keys(), ["legacy"]);
    assert.equal(dec.decode((await k.get("legacy"))!.data), "THEIR-DATA");
    assert.deepEqual(
      (await k.getMetadata("legacy"))?.modificationTime,
      new Date("2026-01-02T03:04:05Z"),
    );
    const team = open(account, { titlePrefix: "team", tag: "ops" });
    assert.deepEqual(await team.keys(), ["prod"]);
    // ByteNess keyring: an empty prefix or tag means "keyring".
    const empty = open(account, { titlePrefix: "", tag: "" });
    await empty.set(newItem({ key: "e", data: enc.encode("E") }));
    const e = (await account.items()).find((i) => i.title === "keyring: e")!;
    assert.deepEqual(e.tags, ["keyring"]);
  }));

Deno.test("op: the user's own items are never read, listed, overwritten or removed", {
  ignore: noPython,
}, () =>
  withAccount(async (account) => {
    const password = { id: "credential", type: "CONCEALED", label: "credential", value: "hunter2" };
    const users = [
      // Our title, but no tag of ours.
      opItem("user0000000000000000000001", "aws-vault: work", [password], { tags: [] }),
      // Our title and tag, another category.
      opItem("user0000000000000000000002", "aws-vault: work", [password], { category: "LOGIN" }),
      // A nested tag (op lists it under --tags aws-vault).
      opItem("user0000000000000000000003", "aws-vault: nested", [keyringField("{}")], {
        tags: ["aws-vault/mine"],
      }),
      // Our tag and category, no prefix.
      opItem("user0000000000000000000004", "work", [keyringField("{}")]),
      // Title, tag and category all ours, but the user's secret in it.
      opItem("user0000000000000000000005", "aws-vault: mail", [password]),
      opItem("user0000000000000000000006", "aws-vault: two", [keyringField("{}"), password]),
    ];
    for (const item of users) await account.addItem(item);
    const k = open(account);
    assert.deepEqual((await k.keys()).sort(), ["mail", "two"]);
    assert.equal(await k.get("work"), undefined);
    assert.equal(await k.get("mail"), undefined);
    assert.equal(await k.get("nested"), undefined);
    await rejectsWith(
      () => k.set(newItem({ key: "mail", data: enc.encode("x") })),
      /"aws-vault: mail" is not an aws-vault item .*not overwritten/,
    );
    assert.equal(await k.remove("mail"), false);
    assert.equal(await k.remove("two"), false);
    await k.set(newItem({ key: "work", data: enc.encode("OURS") }));
    assert.equal(dec.decode((await k.get("work"))!.data), "OURS");
    assert.equal(await k.remove("work"), true);
    const left = await account.items();
    for (const item of users) {
      assert.deepEqual(left.find((i) => i.id === item.id), item, `${item.id} untouched`);
    }
    assert.equal(left.length, users.length);
  }));

Deno.test("op: two items of ours with one title are an error, not a guess", {
  ignore: noPython,
}, () =>
  withAccount(async (account) => {
    for (const id of ["dup0000000000000000000001", "dup0000000000000000000002"]) {
      await account.addItem(opItem(id, "aws-vault: work", [
        keyringField(encodeItemJson(newItem({ key: "work", data: enc.encode(id) }))),
      ]));
    }
    const k = open(account);
    await rejectsWith(() => k.get("work"), /several items titled "aws-vault: work"/);
    await rejectsWith(() => k.keys(), /several items titled/);
    await rejectsWith(() => k.set(newItem({ key: "work", data: enc.encode("x") })), /several/);
  }));

Deno.test("op: hostile key names stay out of argv and round-trip", {
  ignore: noPython,
}, () =>
  withAccount(async (account) => {
    const k = open(account);
    const keys = [
      "--vault=elsewhere",
      "-rf",
      "$(touch /tmp/pwned)",
      "a; rm -rf ~",
      '"quoted" \\ back',
      "aws-vault: nested",
      "x".repeat(2000),
    ];
    for (const key of keys) await k.set(newItem({ key, data: enc.encode(key) }));
    assert.deepEqual((await k.keys()).sort(), [...keys].sort());
    for (const key of keys) assert.equal(dec.decode((await k.get(key))!.data), key);
    for (const call of await account.calls()) {
      for (const key of keys) assert.ok(!call.argv.includes(key), call.argv.join(" "));
      assert.ok(
        call.argv.every((a, i) =>
          i < 2 || a === "-" || a.startsWith("--") || /^[a-z0-9]+$/.test(a)
        ),
      );
    }
    for (const bad of ["", "line\nbreak", "nul\0", "tab\there"]) {
      await rejectsWith(() => k.set(newItem({ key: bad, data: enc.encode("x") })), /key|empty/);
    }
    for (const key of keys) assert.equal(await k.remove(key), true);
    assert.deepEqual(await k.keys(), []);
  }));

Deno.test("op: not signed in, a refused token, a missing vault: one clear line each", {
  ignore: noPython,
}, () =>
  withAccount(async (account) => {
    await rejectsWith(
      () => open(account, { token: undefined }).keys(),
      /^not signed in to 1Password: run 'op signin', or set OP_SERVICE_ACCOUNT_TOKEN/,
    );
    const wrong = "ops_WRONG-TOKEN-must-not-appear-anywhere";
    const err = await rejectsWith(
      () => open(account, { token: wrong }).keys(),
      /^1Password refused the service account token/,
    );
    assert.ok(!err.message.includes(wrong));
    await rejectsWith(
      () => open(account, { vaultId: "Nope" }).get("work"),
      /^1Password vault 'Nope' not found, or not readable with this sign-in/,
    );
    // Signed in as a user (desktop app): no token needed, and none is sent.
    await account.signIn();
    const k = open(account, { token: undefined });
    await k.set(newItem({ key: "desk", data: enc.encode("D") }));
    assert.deepEqual(await k.keys(), ["desk"]);
    assert.ok((await account.calls()).slice(-2).every((c) => c.token === null));
    // The vault by name works as op resolves names too.
    assert.deepEqual(await open(account, { token: undefined, vaultId: "Private" }).keys(), [
      "desk",
    ]);
  }));

Deno.test("op: a hanging op, garbage JSON, a bad item id and huge output are refused", {
  ignore: noPython,
}, () =>
  withAccount(async (account) => {
    const faulty = (fault: string, options: Partial<OpOptions> = {}) =>
      open(account, {
        env: { PATH: "/usr/bin:/bin", ...account.env, OP_STAND_IN_FAULT: fault },
        ...options,
      });
    await rejectsWith(
      () => faulty("hang", { timeoutMs: 500 }).keys(),
      /'.*op' did not finish within 500ms/,
    );
    await rejectsWith(
      () => faulty("garbage").keys(),
      /op printed something unexpected for 'item list'/,
    );
    await open(account).set(newItem({ key: "k", data: enc.encode("v") }));
    await rejectsWith(() => faulty("bad-id").get("k"), /op printed something unexpected/);
    await rejectsWith(
      () => faulty("huge", { maxOutputBytes: 1 << 20 }).keys(),
      /printed more than 1048576 bytes/,
    );
    // Missing op: one line naming it.
    await rejectsWith(
      () => open(account, { cmd: `${account.dir}/no-such-op` }).keys(),
      /no-such-op' is not installed/,
    );
  }));

Deno.test("op: chosen with --backend op and the --op-* flags; the token never printed", {
  ignore: noPython,
}, async () => {
  const { runCli } = await import("../support/cli.ts");
  await withAccount(async (account) => {
    const env = {
      ...account.env,
      PATH: `${account.bin}:/usr/bin:/bin`,
      HOME: account.dir,
      AWS_CONFIG_FILE: `${account.dir}/config`,
      AWS_ACCESS_KEY_ID: "AKIAOPBACKEND",
      AWS_SECRET_ACCESS_KEY: "op-backend-secret-value",
      AWS_VAULT_OP_SERVICE_ACCOUNT_TOKEN: OP_TOKEN,
    };
    const flags = ["--backend=op", `--op-vault-id=${OP_VAULT_ID}`, "--op-item-tag=team"];
    const add = await runCli(["--debug", "add", ...flags, "--env", "w"], { env });
    assert.equal(add.code, 0, add.stderr);
    for (const out of [add.stdout, add.stderr]) {
      assert.ok(!out.includes(OP_TOKEN) && !out.includes("op-backend-secret-value"), out);
    }
    const [item] = await account.items();
    assert.equal(item.title, "aws-vault: w");
    assert.deepEqual(item.tags, ["team"]);
    const list = await runCli(["list", "--credentials", "--backend=op", "--op-item-tag=team"], {
      env: { ...env, OP_VAULT_ID },
    });
    assert.equal(list.stdout, "w\n", list.stderr);
    // migrate-backend copies to the file backend; the vault passphrase never reaches op.
    const migrate = await runCli([
      "migrate-backend",
      "--from=op",
      "--to=file",
      `--op-vault-id=${OP_VAULT_ID}`,
      "--op-item-tag=team",
      `--file-dir=${account.dir}/keys`,
    ], { env: { ...env, AWS_VAULT_FILE_PASSPHRASE: "file-pass" } });
    assert.equal(migrate.code, 0, migrate.stderr);
    const fileList = await runCli(["list", "--credentials", "--backend=file"], {
      env: { ...env, AWS_VAULT_FILE_DIR: `${account.dir}/keys`, AWS_VAULT_FILE_PASSPHRASE: "p" },
    });
    assert.equal(fileList.stdout, "w\n", fileList.stderr);
    for (const call of await account.calls()) {
      assert.deepEqual(call.others, [], call.argv.join(" "));
      assert.equal(call.token, OP_TOKEN);
    }
    const noVault = await runCli(["list", "--credentials", "--backend=op"], { env });
    assert.equal(noVault.code, 1);
    assert.match(noVault.stderr, /^aws-vault: error: .*--op-vault-id/m);
    const missing = await runCli(["list", "--backend=op", `--op-vault-id=${OP_VAULT_ID}`], {
      env: { ...env, PATH: "/usr/bin:/bin" },
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /backend 'op' is not available: 'op' .*is not installed/);
  });
});

Deno.test("op: a real-length token that op echoes is masked, not cut and shown", async () => {
  const dir = await Deno.makeTempDir({ prefix: "awsvault-op-echo-" });
  try {
    // Service-account tokens are base64 JSON of some 900 characters.
    const token = `ops_eyJ${"A1b2C3d4".repeat(112)}`;
    const op = `${dir}/op`;
    await Deno.writeTextFile(
      op,
      '#!/bin/sh\necho "[ERROR] 2026/01/02 03:04:05 invalid token: $OP_SERVICE_ACCOUNT_TOKEN" >&2\nexit 1\n',
      { mode: 0o700 },
    );
    const k = openOpKeyring({
      vaultId: OP_VAULT_ID,
      cmd: op,
      token,
      env: { PATH: "/usr/bin:/bin" },
    });
    const err = await rejectsWith(() => k.keys(), /service account token/);
    assert.ok(!err.message.includes(token.slice(0, 20)), err.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
