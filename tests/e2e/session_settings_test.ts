/**
 * A cached session is a session of the settings it was made with (reference 11: aws-vault's
 * session key is only type, profile and MFA serial, so after `role_arn` or `credential_process`
 * changed it kept handing out the old role's or command's credentials until they expired).
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { TestSts } from "../support/test_sts.ts";
import { vaultHome } from "../support/vault_home.ts";
import { FileKeyring } from "../../backends/file.ts";
import { newItem } from "../../backends/keyring.ts";
import { encodeSessionData, SESSION_DESCRIPTION } from "../../lib/store/session_data.ts";

const M = "arn:aws:iam::111111111111:mfa/jonsmith";
const ADMIN = "arn:aws:iam::111111111111:role/admin";
const READ_ONLY = "arn:aws:iam::111111111111:role/read-only";
const JON = {
  name: "jonsmith",
  accessKeyId: "AKIATESTJONSMITH0001",
  secretAccessKey: "jon-secret-key-0000000000000000000000000",
};

const config = (role: string, extra = "") =>
  `[profile jonsmith]\nregion = eu-west-1\n\n` +
  `[profile admin]\nsource_profile = jonsmith\nrole_arn = ${role}\nmfa_serial = ${M}\n${extra}`;

Deno.test("a role's cached session is not used once role_arn or external_id changed", async () => {
  const sts = new TestSts([JON]);
  sts.roles.set(ADMIN, { requireMfa: true });
  sts.roles.set(READ_ONLY, { requireMfa: true });
  const home = await vaultHome(config(ADMIN));
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const env = { ...home.env, AWS_ENDPOINT_URL: sts.url };
    const roleOf = (stdout: string) => sts.sessionInfo(JSON.parse(stdout).AccessKeyId)?.arn;
    const exportAdmin = async (code?: string) => {
      if (code) sts.allowMfaCode(M, code);
      const r = await runCli(
        ["export", "--format=json", ...(code ? ["--mfa-token", code] : []), "admin"],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    assert.match(roleOf(await exportAdmin("100001"))!, /assumed-role\/admin\//);
    // The same settings: the cached session, no STS call.
    assert.match(roleOf(await exportAdmin())!, /assumed-role\/admin\//);
    assert.equal(sts.callsOf("AssumeRole").length, 1);

    // Another role under the same profile name: a new session of that role (and an MFA code).
    await Deno.writeTextFile(home.env.AWS_CONFIG_FILE, config(READ_ONLY));
    const readOnly = await exportAdmin("100002");
    assert.match(roleOf(readOnly)!, /assumed-role\/read-only\//);
    assert.equal(sts.callsOf("AssumeRole").at(-1)?.params.RoleArn, READ_ONLY);
    // ...which replaced the admin session in the vault: one session item left.
    const sessions = [...Deno.readDirSync(`${home.dir}/keys`)].filter((e) =>
      e.name.startsWith("sts.AssumeRole,")
    );
    assert.equal(sessions.length, 1);
    assert.equal(await exportAdmin(), readOnly);
    assert.equal(sts.callsOf("AssumeRole").length, 2);

    // An external ID added: a session of other settings too.
    await Deno.writeTextFile(home.env.AWS_CONFIG_FILE, config(READ_ONLY, "external_id = x-123\n"));
    await exportAdmin("100003");
    assert.equal(sts.callsOf("AssumeRole").length, 3);
    assert.equal(sts.callsOf("AssumeRole").at(-1)?.params.ExternalId, "x-123");
    // A longer duration or another region is still the same role's session: reused.
    await Deno.writeTextFile(
      home.env.AWS_CONFIG_FILE,
      config(READ_ONLY, "external_id = x-123\nduration_seconds = 7200\nregion = us-west-2\n"),
    );
    await exportAdmin();
    assert.equal(sts.callsOf("AssumeRole").length, 3);
  } finally {
    await home.cleanup();
    await sts.close();
  }
});

Deno.test("a credential_process session is not used once the command changed", async () => {
  const home = await vaultHome("");
  try {
    const script = `${home.dir}/cp.sh`;
    const at = new Date(Date.now() + 3_600_000).toISOString();
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\nprintf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"s","SessionToken":"t","Expiration":"${at}"}' "$1"\n`,
      { mode: 0o700 },
    );
    const write = (key: string) =>
      Deno.writeTextFile(
        home.env.AWS_CONFIG_FILE,
        `[profile cp]\nregion = eu-west-1\ncredential_process = ${script} ${key}\n`,
      );
    const exported = async () => {
      const r = await runCli(["export", "--format=json", "cp"], { env: home.env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout).AccessKeyId;
    };
    await write("ASIAOLDCOMMAND");
    assert.equal(await exported(), "ASIAOLDCOMMAND");
    assert.equal(await exported(), "ASIAOLDCOMMAND");
    await write("ASIANEWCOMMAND");
    assert.equal(await exported(), "ASIANEWCOMMAND");
  } finally {
    await home.cleanup();
  }
});

Deno.test("a session aws-vault stored (no settings digest) is used as aws-vault would", async () => {
  const sts = new TestSts([JON]);
  sts.roles.set(ADMIN, { requireMfa: true });
  const home = await vaultHome(config(ADMIN));
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const env = { ...home.env, AWS_ENDPOINT_URL: sts.url };
    sts.allowMfaCode(M, "100001");
    const first = await runCli(["export", "--format=json", "--mfa-token", "100001", "admin"], {
      env,
    });
    assert.equal(first.code, 0, first.stderr);
    // Rewrite the session as aws-vault writes it: the same credentials, no digest field.
    const keyring = new FileKeyring(`${home.dir}/keys`, {
      passphrase: home.env.AWS_VAULT_FILE_PASSPHRASE,
      terminal: { readLine: () => Promise.reject(new Error("no prompt in this test")) },
    });
    const key = (await keyring.keys()).find((k) => k.startsWith("sts.AssumeRole,"))!;
    const stored = await keyring.get(key);
    assert.match(new TextDecoder().decode(stored!.data), /"AwsVaultSettingsDigest":"[0-9a-f]{64}"/);
    const json = JSON.parse(first.stdout);
    const data = encodeSessionData({
      accessKeyId: json.AccessKeyId,
      secretAccessKey: json.SecretAccessKey,
      sessionToken: json.SessionToken,
      expiration: new Date(json.Expiration),
    });
    assert.ok(!data.includes("Digest"));
    await keyring.set(newItem({
      key,
      data: new TextEncoder().encode(data),
      label: stored!.label,
      description: SESSION_DESCRIPTION,
    }));
    const second = await runCli(["export", "--format=json", "admin"], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(JSON.parse(second.stdout).AccessKeyId, json.AccessKeyId);
    assert.equal(sts.callsOf("AssumeRole").length, 1);
  } finally {
    await home.cleanup();
    await sts.close();
  }
});
