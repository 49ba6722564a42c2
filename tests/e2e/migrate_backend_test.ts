/** `migrate-backend` between two real backends: the file backend and pass (real gpg). */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { openPassKeyring } from "../../backends/pass.ts";
import { newItem } from "../../backends/keyring.ts";
import { cliCommand, runCli } from "../support/cli.ts";
import { makePassStore, PASS_GPG, type PassStore } from "../support/gpg_pass.ts";
import { ignoreWithout } from "../support/peers.ts";
import { argvLog } from "../support/argv_log.ts";
import { readUntil } from "../support/read_until.ts";

const noPass = await ignoreWithout(PASS_GPG);

const enc = new TextEncoder();
const dec = new TextDecoder();
const PASSPHRASE = "migrate-test-passphrase";

interface Setup {
  store: PassStore;
  fileDir: string;
  env: Record<string, string>;
  file: FileKeyring;
}

async function withSetup(fn: (s: Setup) => Promise<void>): Promise<void> {
  const store = await makePassStore();
  const fileDir = `${store.home}/awsvault-keys`;
  const env = {
    ...store.env,
    // The CLI subprocess gets a temp HOME; keep deno's module cache where it is.
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    AWS_VAULT_FILE_DIR: fileDir,
    AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE,
    AWS_CONFIG_FILE: `${store.home}/config`,
    // At the store root pass lists only names it can tell are aws-vault's; these have no section.
    AWS_VAULT_PASS_PREFIX: "aws-vault",
  };
  const file = new FileKeyring(fileDir, {
    passphrase: PASSPHRASE,
    terminal: { readLine: () => Promise.reject(new Error("no terminal")) },
  });
  try {
    await fn({ store, fileDir, env, file });
  } finally {
    await store.cleanup();
  }
}

function cred(profile: string) {
  return newItem({
    key: profile,
    data: enc.encode(`{"AccessKeyID":"AKIA${profile}","SecretAccessKey":"secret-${profile}"}`),
    label: `aws-vault (${profile})`,
    keychainNotTrustApplication: true,
  });
}

Deno.test("migrate-backend file -> pass copies credentials only, verifies, deletes source", {
  ignore: noPass,
}, async () => {
  await withSetup(async ({ store, env, file }) => {
    const session = "sts.GetSessionToken,d29yaw,,4102444800";
    const oidc = "oidc:https://x.awsapps.com/start";
    for (const p of ["work", "home"]) await file.set(cred(p));
    await file.set(newItem({ key: session, data: enc.encode("{}") }));
    await file.set(newItem({ key: oidc, data: enc.encode("{}") }));

    const r = await runCli(
      ["migrate-backend", "--from", "file", "--to", "pass", "--delete-source"],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "home: copied, verified\nhome: deleted from file\n" +
        "work: copied, verified\nwork: deleted from file\n" +
        "Migrated from file to pass: 2 copied, 0 overwritten, 0 skipped, 1 deleted from source.\n"
          .replace("1 deleted", "2 deleted"),
    );
    const pass = openPassKeyring({
      storeDir: store.storeDir,
      prefix: "aws-vault",
      env: { GNUPGHOME: store.gnupgHome },
    });
    assert.deepEqual((await pass.keys()).sort(), ["home", "work"]);
    assert.equal(dec.decode((await pass.get("work"))!.data), dec.decode(cred("work").data));
    assert.equal((await pass.get("work"))!.label, "aws-vault (work)");
    assert.deepEqual((await file.keys()).sort(), [oidc, session].sort());
  });
});

Deno.test(
  "migrate-backend skips existing credentials unless --overwrite; --dry-run writes nothing",
  { ignore: noPass },
  async () => {
    await withSetup(async ({ store, env, file }) => {
      await file.set(cred("work"));
      const pass = openPassKeyring({
        storeDir: store.storeDir,
        prefix: "aws-vault",
        env: { GNUPGHOME: store.gnupgHome },
      });
      await pass.set(newItem({ key: "work", data: enc.encode("older") }));

      let r = await runCli(["migrate-backend", "--from", "file", "--to", "pass"], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^work: skipped, already exists in destination$/m);
      assert.equal(dec.decode((await pass.get("work"))!.data), "older");

      r = await runCli([
        "migrate-backend",
        "--from",
        "file",
        "--to",
        "pass",
        "--overwrite",
        "--dry-run",
      ], { env });
      assert.match(r.stdout, /^work: would be overwritten$/m);
      assert.equal(dec.decode((await pass.get("work"))!.data), "older");

      r = await runCli([
        "migrate-backend",
        "--from",
        "file",
        "--to",
        "pass",
        "--overwrite",
        "--profile",
        "work",
      ], { env });
      assert.match(r.stdout, /^work: overwritten, verified$/m);
      assert.equal(dec.decode((await pass.get("work"))!.data), dec.decode(cred("work").data));
      assert.deepEqual(await file.keys(), ["work"], "without --delete-source the source stays");

      r = await runCli(["migrate-backend", "--from", "file", "--to", "file"], { env });
      assert.equal(r.code, 2);
      r = await runCli(["migrate-backend", "--from", "file", "--to", "wincred"], { env });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^aws-vault: error: backend 'wincred' is not supported by this build\n$/,
      );
    });
  },
);

Deno.test(
  "migrate-backend: a stray file or an unreadable item is said and kept; the others migrate",
  {
    ignore: noPass,
  },
  async () => {
    await withSetup(async ({ store, fileDir, env, file }) => {
      for (const p of ["work", "home"]) await file.set(cred(p));
      // A Finder file, and an item of another passphrase (vault mixed by hand).
      await Deno.writeTextFile(`${fileDir}/.DS_Store`, "\0\0\0\x01Bud1", { mode: 0o600 });
      const other = new FileKeyring(`${store.home}/other`, {
        passphrase: "another passphrase",
        terminal: { readLine: () => Promise.reject(new Error("no terminal")) },
      });
      await other.set(cred("stranger"));
      await Deno.copyFile(`${store.home}/other/stranger`, `${fileDir}/stranger`);
      for (const dryRun of [["--dry-run"], []]) {
        const r = await runCli(["migrate-backend", "--from", "file", "--to", "pass", ...dryRun], {
          env,
        });
        assert.equal(r.code, 1, dryRun.join(""));
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 3, r.stderr);
        assert.match(
          lines[0],
          /^aws-vault: \.DS_Store: not migrated, cannot be read: .*not an aws-vault item/,
        );
        assert.match(lines[1], /^aws-vault: stranger: not migrated, cannot be read: /);
        assert.match(
          lines[2],
          /^aws-vault: error: 2 item\(s\) of the file backend could not be read and were not migrated/,
        );
        assert.match(
          r.stdout,
          dryRun.length
            ? /home: would be copied\nwork: would be copied\n/
            : /home: copied, verified\nwork: copied, verified\n/,
        );
      }
      const pass = openPassKeyring({
        storeDir: store.storeDir,
        prefix: "aws-vault",
        env: { GNUPGHOME: store.gnupgHome },
      });
      assert.deepEqual((await pass.keys()).sort(), ["home", "work"]);
      // Nothing was removed from the source.
      assert.deepEqual((await Array.fromAsync(Deno.readDir(fileDir))).map((e) => e.name).sort(), [
        ".DS_Store",
        "home",
        "stranger",
        "work",
      ]);
    });
  },
);

Deno.test("migrate-backend shows a key name that holds control characters escaped", {
  ignore: noPass,
}, async () => {
  await withSetup(async ({ fileDir, env, file }) => {
    // Names `add` refuses, made by hand in the vault directory: an item and a stray file.
    await file.set(cred("ev\x1b[2Jil"));
    await Deno.writeTextFile(`${fileDir}/stray\x1b]0;title\x07`, "junk", { mode: 0o600 });
    const r = await runCli(["migrate-backend", "--from", "file", "--to", "pass", "--dry-run"], {
      env,
    });
    assert.equal(r.code, 1, r.stderr);
    // deno-lint-ignore no-control-regex
    const control = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;
    assert.doesNotMatch(r.stdout + r.stderr, control);
    assert.match(r.stdout, /^ev\\x1b\[2Jil: would be copied$/m);
    assert.match(r.stderr, /^aws-vault: stray\\x1b\]0;title\\x07: not migrated, cannot be read: /m);
  });
});

Deno.test("migrate-backend killed midway leaves every credential in at least one backend", {
  ignore: noPass,
}, async () => {
  await withSetup(async ({ store, env, file }) => {
    const profiles = Array.from({ length: 6 }, (_, i) => `p${i}`);
    for (const p of profiles) await file.set(cred(p));
    const [cmd, ...args] = cliCommand();
    const child = new Deno.Command(cmd, {
      args: [...args, "migrate-backend", "--from", "file", "--to", "pass", "--delete-source"],
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env },
      clearEnv: true,
      stdout: "piped",
      stderr: "null",
    }).spawn();
    // Kill it as soon as the first credential has been copied (mid-run, not before or after).
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    await readUntil(reader, (seen) => seen.includes("copied, verified"));
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel().catch(() => {});

    const pass = openPassKeyring({
      storeDir: store.storeDir,
      prefix: "aws-vault",
      env: { GNUPGHOME: store.gnupgHome },
    });
    const inPass = new Set(await pass.keys());
    const inFile = new Set(await file.keys());
    assert(
      inPass.size >= 1 && inFile.size >= 1,
      `killed mid-run: pass ${[...inPass]} file ${[...inFile]}`,
    );
    for (const p of profiles) {
      const item = inFile.has(p) ? await file.get(p) : await pass.get(p);
      assert(item, `credential ${p} must survive in one backend`);
      assert.equal(dec.decode(item.data), dec.decode(cred(p).data));
    }
  });
});

Deno.test("migrate-backend file -> pass: pass and gpg never get the vault passphrase", {
  ignore: noPass,
}, async () => {
  await withSetup(async ({ store, env, file }) => {
    await file.set(cred("work"));
    const shims = `${store.home}/shims`;
    await Deno.mkdir(shims);
    const tools = await argvLog(shims, ["pass", "gpg", "gpg2"]);
    const r = await runCli(["migrate-backend", "--from", "file", "--to", "pass"], {
      env: { ...env, ...tools.env },
    });
    assert.equal(r.code, 0, r.stderr);
    const runs = await tools.environments();
    const ran = new Set(runs.map((run) => run.tool));
    assert.ok(ran.has("pass") && (ran.has("gpg") || ran.has("gpg2")), `tools seen: ${[...ran]}`);
    for (const run of runs) {
      assert.equal(run.vars.GNUPGHOME, store.gnupgHome, `${run.tool} got our environment`);
      assert.equal(run.vars.AWS_VAULT_FILE_PASSPHRASE, undefined, `${run.tool} got the passphrase`);
      assert.ok(!Object.values(run.vars).includes(PASSPHRASE), `${run.tool} saw the passphrase`);
    }
  });
});
