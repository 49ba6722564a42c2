/** add / remove / list / clear as a user runs them: a real process, prompts on a real terminal. */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { UserError } from "../../lib/errors.ts";
import { CredentialStore, OidcTokenStore, SessionStore } from "../../lib/store/mod.ts";
import { runCli } from "../support/cli.ts";
import { ignoreWithout } from "../support/peers.ts";
import { PTY, runOnPty } from "../support/pty.ts";

const noPty = await ignoreWithout(PTY);

const PASS = "e2e passphrase";

interface Sandbox {
  home: string;
  keys: string;
  config: string;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function sandbox(configText = ""): Promise<Sandbox> {
  const home = await Deno.makeTempDir({ prefix: "vault-e2e-" });
  const config = `${home}/aws-config`;
  await Deno.writeTextFile(config, configText);
  const keys = `${home}/keys`;
  return {
    home,
    keys,
    config,
    env: {
      HOME: home,
      AWS_CONFIG_FILE: config,
      AWS_VAULT_FILE_DIR: keys,
      AWS_VAULT_BACKEND: "file",
    },
    cleanup: () => Deno.remove(home, { recursive: true }),
  };
}

function keyringOf(sb: Sandbox): FileKeyring {
  const terminal = { readLine: () => Promise.reject(new UserError("no terminal")) };
  return new FileKeyring(sb.keys, { passphrase: PASS, terminal });
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    out[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  }
  return out;
}

Deno.test(
  "add prompts on the terminal (stdin not a tty), hides secrets, creates the vault and config section",
  { ignore: noPty },
  async () => {
    const sb = await sandbox("[profile other]\nregion = eu-west-1\n");
    try {
      const r = await runOnPty(["add", "work"], {
        env: sb.env,
        stdinNull: true,
        steps: [
          ["Enter Access Key ID: ", "AKIAE2EEXAMPLE\r"],
          ["Enter Secret Access Key: ", "wJalrSECRETe2e\r"],
          [
            "Enter MFA Device ARN (If MFA is not enabled, leave this blank): ",
            "arn:aws:iam::111111111111:mfa/work\r",
          ],
          [`Enter passphrase to unlock "${sb.keys}": `, `${PASS}\r`],
          ["Enter passphrase again to confirm: ", `${PASS}\r`],
        ],
      });
      assert.deepEqual(r.pending, []);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /AKIAE2EEXAMPLE/, "the key ID is echoed");
      assert.doesNotMatch(r.output, /wJalrSECRETe2e/, "the secret is not echoed");
      assert.doesNotMatch(r.output, new RegExp(PASS), "the passphrase is not echoed");
      assert.match(r.output, /Added credentials to profile "work" in vault/);
      assert.equal(
        await Deno.readTextFile(sb.config),
        "[profile other]\nregion = eu-west-1\n\n[profile work]\nmfa_serial=arn:aws:iam::111111111111:mfa/work\n",
      );
      assert.deepEqual(await new CredentialStore(keyringOf(sb)).get("work"), {
        accessKeyId: "AKIAE2EEXAMPLE",
        secretAccessKey: "wJalrSECRETe2e",
      });
      // list reads only names: no passphrase, no terminal needed.
      const list = await runCli(["list", "--credentials"], { env: sb.env });
      assert.equal(list.stdout, "work\n");
    } finally {
      await sb.cleanup();
    }
  },
);

Deno.test("add: empty key, closed input, mismatched new passphrase and bad names store nothing", {
  ignore: noPty,
}, async () => {
  const sb = await sandbox();
  try {
    const empty = await runOnPty(["add", "work"], {
      env: sb.env,
      steps: [["Enter Access Key ID: ", "\r"]],
    });
    assert.equal(empty.code, 1);
    assert.match(empty.output, /aws-vault: error: the access key ID is empty; nothing was stored/);
    const closed = await runOnPty(["add", "work"], {
      env: sb.env,
      steps: [["Enter Access Key ID: ", "AKIA1\r"], ["Enter Secret Access Key: ", "\x04"]],
    });
    assert.equal(closed.code, 1);
    assert.match(closed.output, /aws-vault: error: input ended before a line was read/);
    const mismatch = await runOnPty(["add", "work"], {
      env: sb.env,
      steps: [
        ["Enter Access Key ID: ", "AKIA1\r"],
        ["Enter Secret Access Key: ", "s\r"],
        ["Enter MFA Device ARN", "\r"],
        ["Enter passphrase to unlock", "one\r"],
        ["Enter passphrase again to confirm: ", "two\r"],
      ],
    });
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.output, /aws-vault: error: passphrases do not match/);
    for (
      const name of [
        "",
        " lead",
        "trail ",
        "a\nb",
        "tab\there",
        "a]b",
        "[x",
        "../x",
        "a/./b",
        "..",
        "oidc:x",
        "sts.GetSessionToken,d29yaw,,1700000000",
      ]
    ) {
      const bad = await runCli(["add", "--env", name], {
        env: {
          ...sb.env,
          AWS_ACCESS_KEY_ID: "AKIA1",
          AWS_SECRET_ACCESS_KEY: "s",
          AWS_VAULT_FILE_PASSPHRASE: PASS,
        },
      });
      assert.equal(bad.code, 1, name);
      assert.match(bad.stderr, /^aws-vault: error: invalid profile name .*\n$/);
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(sb.keys)).catch(() => []), []);
    assert.equal(await Deno.readTextFile(sb.config), "");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add accepts the names aws-vault accepts: team/dev, acme:prod, spaces, 50%, leading -", async () => {
  const sb = await sandbox();
  try {
    const env = {
      ...sb.env,
      AWS_ACCESS_KEY_ID: "AKIANAMES",
      AWS_SECRET_ACCESS_KEY: "s",
      AWS_VAULT_FILE_PASSPHRASE: PASS,
    };
    const names = ["team/dev", "acme:prod", "my profile", "50%off", "-dash", "a,b"];
    for (const name of names) {
      const r = await runCli(["add", "--env", "--", name], { env });
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, `Added credentials to profile "${name}" in vault\n`);
    }
    const list = await runCli(["list", "--credentials"], { env });
    assert.deepEqual(list.stdout.trim().split("\n").sort(), [...names].sort());
    const profiles = await runCli(["list", "--profiles"], { env });
    assert.deepEqual(profiles.stdout.trim().split("\n"), names);
    // Each is a file aws-vault names the same way (only % and / escaped).
    const files = (await Array.fromAsync(Deno.readDir(sb.keys))).map((e) => e.name).sort();
    assert.ok(
      files.includes("team%2Fdev") && files.includes("50%25off") && files.includes("acme:prod"),
    );
    const store = new CredentialStore(keyringOf(sb));
    for (const name of names) assert.equal((await store.get(name))?.accessKeyId, "AKIANAMES");
  } finally {
    await sb.cleanup();
  }
});

Deno.test("add --env refuses source_profile profiles; a wrong passphrase modifies nothing", async () => {
  const sb = await sandbox(
    "[profile role]\nsource_profile = work\nrole_arn = arn:aws:iam::1:role/r\n",
  );
  try {
    const env = {
      ...sb.env,
      AWS_ACCESS_KEY_ID: "AKIAENV",
      AWS_SECRET_ACCESS_KEY: "envsecret",
      AWS_VAULT_FILE_PASSPHRASE: PASS,
    };
    const role = await runCli(["add", "--env", "role"], { env });
    assert.equal(role.code, 1);
    assert.match(role.stderr, /source_profile/);
    const ok = await runCli(["add", "--env", "--no-add-config", "work"], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'Added credentials to profile "work" in vault\n');
    const before = await snapshot(sb.keys);
    const wrong = await runCli(["add", "--env", "second"], {
      env: { ...env, AWS_VAULT_FILE_PASSPHRASE: "typo" },
    });
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr, `aws-vault: error: wrong passphrase for vault ${sb.keys}\n`);
    assert.deepEqual(await snapshot(sb.keys), before);
    assert.doesNotMatch(await Deno.readTextFile(sb.config), /profile work/);
  } finally {
    await sb.cleanup();
  }
});

Deno.test("remove asks on the terminal; -f skips; --sessions-only keeps the credentials", {
  ignore: noPty,
}, async () => {
  const sb = await sandbox("[profile work]\n");
  try {
    const k = keyringOf(sb);
    // Deleting proves the passphrase, as writing does.
    const withPass = { ...sb.env, AWS_VAULT_FILE_PASSPHRASE: PASS };
    await new CredentialStore(k).set("work", { accessKeyId: "AKIA1", secretAccessKey: "s" });
    const sessions = new SessionStore(k, () => new Date());
    const id = { type: "sts.GetSessionToken", profileName: "work", mfaSerial: "" };
    const later = new Date(Date.now() + 3600_000);
    await sessions.set(id, {
      accessKeyId: "ASIA1",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: later,
    });

    const no = await runOnPty(["remove", "work"], {
      env: withPass,
      steps: [['Delete credentials for profile "work"? (y|N) ', "n\r"]],
    });
    assert.equal(no.code, 0);
    assert.equal(await new CredentialStore(k).has("work"), true);

    const only = await runCli(["remove", "work", "--sessions-only"], { env: withPass });
    assert.equal(only.stdout, "Deleted 1 sessions.\n");
    assert.equal(await new CredentialStore(k).has("work"), true);

    await sessions.set(id, {
      accessKeyId: "ASIA1",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: later,
    });
    const yes = await runOnPty(["rm", "work"], {
      env: withPass,
      steps: [['Delete credentials for profile "work"? (y|N) ', "Y\r"]],
    });
    assert.equal(yes.code, 0, yes.output);
    assert.match(yes.output, /Deleted credentials\.\r?\nDeleted 1 sessions\./);
    assert.deepEqual(await k.keys(), []);

    await new CredentialStore(k).set("home", { accessKeyId: "AKIA2", secretAccessKey: "s" });
    const forced = await runCli(["remove", "-f", "home"], { env: withPass });
    assert.equal(forced.stdout, "Deleted credentials.\n");
    const missing = await runCli(["remove", "-f", "home"], { env: withPass });
    assert.equal(missing.code, 1);
    assert.equal(
      missing.stderr,
      'aws-vault: error: no credentials exist for profile "home" in the vault\n',
    );
  } finally {
    await sb.cleanup();
  }
});

Deno.test("list shows profiles, credentials and sessions with remaining time; clear removes them", async () => {
  const sb = await sandbox(
    "[profile work]\nregion = eu-west-1\n[profile sso]\nsso_session = corp\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n",
  );
  try {
    const k = keyringOf(sb);
    const creds = new CredentialStore(k);
    await creds.set("work", { accessKeyId: "AKIA1", secretAccessKey: "s" });
    await creds.set("orphan", { accessKeyId: "AKIA2", secretAccessKey: "s" });
    const sessions = new SessionStore(k, () => new Date());
    // Five minutes of slack: on a loaded machine (test files run in parallel) the list may come
    // a while after the sessions were stored.
    const hour = new Date(Date.now() + 3600_000 + 300_000);
    await sessions.set({
      type: "sts.GetSessionToken",
      profileName: "work",
      mfaSerial: "arn:aws:iam::1:mfa/me",
    }, {
      accessKeyId: "ASIA1",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: hour,
    });
    await sessions.set({ type: "sts.AssumeRole", profileName: "gone", mfaSerial: "" }, {
      accessKeyId: "ASIA2",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: hour,
    });
    await new OidcTokenStore(k, () => new Date()).set("https://corp.awsapps.com/start", {
      accessToken: "a",
      expiration: hour,
    });

    const env = { ...sb.env }; // no passphrase: list must not need one
    const table = await runCli(["list"], { env });
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout.split("\n");
    assert.deepEqual(rows[0].split(/\s+/), ["Profile", "Credentials", "Sessions"]);
    assert.match(rows[2], /^work {21}work {21}sts\.GetSessionToken:1h[0-5]m\d\ds$/);
    assert.match(rows[3], /^sso {22}- {24}oidc:https:\/\/corp\.awsapps\.com\/start$/);
    assert.match(rows[4], /^- {24}orphan {19}-$/);
    assert.match(rows[5], /^- {24}- {24}sts\.AssumeRole:1h[0-5]m\d\ds$/);

    assert.equal((await runCli(["list", "--profiles"], { env })).stdout, "work\nsso\n");
    assert.equal((await runCli(["list", "--credentials"], { env })).stdout, "orphan\nwork\n");
    assert.match(
      (await runCli(["list", "--sessions"], { env })).stdout,
      /^sts\.AssumeRole:1h[0-5]m\d\ds\nsts\.GetSessionToken:1h[0-5]m\d\ds\noidc:https:\/\/corp\.awsapps\.com\/start\n$/,
    );
    const json = JSON.parse((await runCli(["list", "--json"], { env })).stdout);
    assert.deepEqual(json.profiles[0], {
      name: "work",
      credentials: true,
      sessions: [{
        profile: "work",
        type: "sts.GetSessionToken",
        mfaSerial: "arn:aws:iam::1:mfa/me",
        expiration: json.profiles[0].sessions[0].expiration,
      }],
    });
    assert.deepEqual(json.credentials, ["orphan", "work"]);
    assert.deepEqual(json.oidcTokens, ["https://corp.awsapps.com/start"]);

    // Clearing deletes, so it proves the passphrase.
    const withPass = { env: { ...env, AWS_VAULT_FILE_PASSPHRASE: PASS } };
    assert.equal((await runCli(["clear", "sso"], withPass)).stdout, "Cleared 1 sessions.\n");
    assert.equal((await runCli(["clear", "work"], withPass)).stdout, "Cleared 1 sessions.\n");
    assert.equal((await runCli(["clear"], withPass)).stdout, "Cleared 1 sessions.\n");
    assert.deepEqual((await k.keys()).sort(), ["orphan", "work"]);
  } finally {
    await sb.cleanup();
  }
});
