/**
 * Against moto (an independent STS + IAM) and real clients: `exec p -- aws sts
 * get-caller-identity` prints the user's ARN; a role profile gets the assumed role; the AWS CLI
 * v2 and boto3 use `credential_process = aws-vault export --format=json`.
 */
import assert from "node:assert/strict";
import { cliCommand, runCli } from "../support/cli.ts";
import { AWS_CLI_V2, awsCli, type Moto, MOTO_AND_CLI, startMoto } from "../support/moto.ts";
import { commandPeer, ignoreWithout, requirePeers } from "../support/peers.ts";

const noMoto = await ignoreWithout(...MOTO_AND_CLI);
const BOTO3 = commandPeer("boto3", "python3", ["-c", "import boto3"]);
const noBoto3 = await ignoreWithout(BOTO3);
import { type VaultHome, vaultHome } from "../support/vault_home.ts";

async function withMotoUser(
  fn: (moto: Moto, home: VaultHome, env: Record<string, string>) => Promise<void>,
): Promise<void> {
  const moto = await startMoto();
  const home = await vaultHome("");
  try {
    await awsCli(moto, ["iam", "create-user", "--user-name", "alice"]);
    const key = (await awsCli(moto, ["iam", "create-access-key", "--user-name", "alice"]))
      .AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    await awsCli(moto, [
      "iam",
      "create-role",
      "--role-name",
      "deploy",
      "--assume-role-policy-document",
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}',
    ]);
    const [cmd, ...args] = cliCommand();
    await Deno.writeTextFile(
      home.env.AWS_CONFIG_FILE,
      `[profile alice]\nregion = us-east-1\n\n[profile deploy]\nsource_profile = alice\nrole_arn = arn:aws:iam::123456789012:role/deploy\nregion = us-east-1\n\n` +
        `[profile cp]\ncredential_process = ${cmd} ${
          args.join(" ")
        } export --format=json alice\nregion = us-east-1\n`,
    );
    await home.addKeys("alice", key.AccessKeyId, key.SecretAccessKey);
    await fn(moto, home, { ...home.env, AWS_ENDPOINT_URL: moto.url });
  } finally {
    await home.cleanup();
    await moto.stop();
  }
}

Deno.test(
  "exec -n alice -- aws sts get-caller-identity prints alice's ARN",
  { ignore: noMoto },
  async () => {
    await withMotoUser(async (_moto, _home, env) => {
      const r = await runCli(
        [
          "exec",
          "-n",
          "alice",
          "--",
          AWS_CLI_V2,
          "sts",
          "get-caller-identity",
          "--endpoint-url",
          env.AWS_ENDPOINT_URL,
          "--output",
          "json",
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(JSON.parse(r.stdout).Arn, /^arn:aws:iam::123456789012:user\/alice$/);
    });
  },
);

Deno.test(
  "exec of a role profile runs the child as the assumed role",
  { ignore: noMoto },
  async () => {
    await withMotoUser(async (_moto, _home, env) => {
      const r = await runCli(
        [
          "exec",
          "deploy",
          "--",
          AWS_CLI_V2,
          "sts",
          "get-caller-identity",
          "--endpoint-url",
          env.AWS_ENDPOINT_URL,
          "--output",
          "json",
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(JSON.parse(r.stdout).Arn, /:assumed-role\/deploy\/aws-vault-\d+$/);
    });
  },
);

Deno.test("the AWS CLI v2 and boto3 use aws-vault as credential_process", {
  ignore: noMoto || noBoto3,
}, async () => {
  await withMotoUser(async (_moto, _home, env) => {
    const cliEnv = { ...env, AWS_PROFILE: "cp" };
    const r = await new Deno.Command(AWS_CLI_V2, {
      args: [
        "sts",
        "get-caller-identity",
        "--endpoint-url",
        env.AWS_ENDPOINT_URL,
        "--output",
        "json",
      ],
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...cliEnv },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.ok(r.success, dec.decode(r.stderr));
    assert.ok(JSON.parse(dec.decode(r.stdout)).Arn.startsWith("arn:aws:sts::123456789012:"));
    await requirePeers(BOTO3);
    const py = await new Deno.Command("python3", {
      args: [
        "-c",
        "import boto3; c = boto3.Session().get_credentials().get_frozen_credentials(); print(c.access_key, bool(c.token))",
      ],
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...cliEnv },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(py.success, dec.decode(py.stderr));
    assert.match(dec.decode(py.stdout).trim(), /^[A-Z0-9]{16,} True$/);
  });
});
