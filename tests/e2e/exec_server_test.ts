/**
 * `aws-vault exec --ecs-server` / `--ec2-server` end to end: the four client stacks get the
 * served credentials (the test STS checks their signatures), the child's exit code passes
 * through, the server is gone afterwards, and the invalid combinations are one line each.
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { ignoreWithout, requirePeers } from "../support/peers.ts";
import {
  allClientsScript,
  CLIENT_PEERS,
  CLIENTS,
  parseClientLines,
} from "../support/sdk_clients.ts";
import { standIns } from "../support/stand_in.ts";
import { TestSts } from "../support/test_sts.ts";
import { type VaultHome, vaultHome } from "../support/vault_home.ts";

const M = "arn:aws:iam::111111111111:mfa/jonsmith";
const noClients = await ignoreWithout(...CLIENT_PEERS);
const JON = {
  name: "jonsmith",
  accessKeyId: "AKIATESTJONSMITH0001",
  secretAccessKey: "jon-secret-key-0000000000000000000000000",
  mfaSerial: M,
};
const CONFIG = (script: string) =>
  `[profile jonsmith]\nregion = eu-west-1\nmfa_serial = ${M}\nmfa_process = ${script}\n\n` +
  `[profile other]\nsource_profile = jonsmith\nrole_arn = arn:aws:iam::222222222222:role/other\n` +
  `region = us-west-2\n`;

async function setup(
  fn: (home: VaultHome, env: Record<string, string>, sts: TestSts) => Promise<void>,
) {
  const sts = new TestSts([JON]);
  sts.roles.set("arn:aws:iam::222222222222:role/other", { requireMfa: false });
  sts.roles.set("arn:aws:iam::333333333333:role/by-arn", { requireMfa: false });
  const home = await vaultHome("");
  const script = `${home.dir}/mfa.sh`;
  await Deno.writeTextFile(script, "#!/bin/sh\necho 135790\n", { mode: 0o700 });
  await Deno.writeTextFile(home.env.AWS_CONFIG_FILE, CONFIG(script));
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    sts.allowMfaCode(M, "135790");
    const env = {
      ...home.env,
      AWS_ENDPOINT_URL: sts.url,
      AWS_SHARED_CREDENTIALS_FILE: `${home.dir}/no-credentials`,
      // The child's Python clients must not find a user site or a cached pyenv elsewhere.
      PYENV_ROOT: Deno.env.get("PYENV_ROOT") ?? `${Deno.env.get("HOME")}/.pyenv`,
    };
    await fn(home, env, sts);
  } finally {
    await home.cleanup();
    await sts.close();
  }
}

function assertServed(stdout: string, sts: TestSts, before: number): void {
  const results = parseClientLines(stdout);
  for (const c of CLIENTS) {
    const r = results.get(c);
    assert.ok(r, `${c} did not run:\n${stdout}`);
    assert.equal(r[0], 0, `${c} failed: ${r[1]}`);
    assert.match(r[1], /arn:aws:iam::111111111111:user\/jonsmith/, c);
  }
  const calls = sts.callsOf("GetCallerIdentity").slice(before);
  assert.equal(calls.length, CLIENTS.length);
  const issued = sts.callsOf("GetSessionToken").length;
  assert.equal(issued, 1, "one session, fetched before the child started");
  for (const call of calls) {
    assert.match(call.accessKeyId, /^ASIA/, "a served session key, not the long-term key");
  }
}

Deno.test({
  name: "exec --ecs-server: AWS CLI v2, v1, boto3 and the JS SDK get the served key",
  ignore: noClients,
  fn: async () => {
    await requirePeers(...CLIENT_PEERS);
    await setup(async (home, env, sts) => {
      const r = await runCli(
        [
          "exec",
          "--ecs-server",
          "jonsmith",
          "--",
          "/bin/sh",
          "-c",
          allClientsScript(sts.url, "container"),
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      assertServed(r.stdout, sts, 0);
      assert.ok(!r.stdout.includes(JON.secretAccessKey) && !r.stderr.includes(JON.secretAccessKey));
      void home;
    });
  },
});

Deno.test({
  name: "exec --ec2-server on a loopback address: all four clients, IMDSv2",
  ignore: noClients,
  fn: async () => {
    await requirePeers(...CLIENT_PEERS);
    await setup(async (_home, env, sts) => {
      const r = await runCli(
        [
          "exec",
          "--debug",
          "--ec2-server",
          "jonsmith",
          "--",
          "/bin/sh",
          "-c",
          allClientsScript(sts.url, "instance"),
        ],
        { env: { ...env, AWS_VAULT_EC2_SERVER_ADDR: "127.0.0.1:0" } },
      );
      assert.equal(r.code, 0, r.stderr);
      assertServed(r.stdout, sts, 0);
      assert.match(r.stderr, /Starting a local EC2 credential server on 127\.0\.0\.1:0/);
    });
  },
});

Deno.test("exec with a server passes the exit code through and stops the server", async () => {
  await setup(async (_home, env) => {
    for (const flag of ["--ecs-server", "-s", "--server"]) {
      const r = await runCli(
        [
          "exec",
          flag,
          "jonsmith",
          "--",
          "/bin/sh",
          "-c",
          'echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI"; exit 7',
        ],
        { env },
      );
      assert.equal(r.code, 7, r.stderr);
      const url = r.stdout.trim();
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      await assert.rejects(fetch(url), "the server is gone with its child");
    }
  });
});

Deno.test("exec --ecs-server: the token, /role-arn/ and the child's environment", async () => {
  await setup(async (_home, env, sts) => {
    const script = [
      'echo "TOKEN=$AWS_CONTAINER_AUTHORIZATION_TOKEN"',
      'echo "KEY=${AWS_ACCESS_KEY_ID:-none}"',
      'echo "RELATIVE=${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-none}${AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE}"',
      'echo "REGION=$AWS_REGION"',
      // The first request starts the AssumeRole; retry while the server says 503, as SDKs do.
      'for i in $(seq 100); do out=$(curl -s -w " STATUS=%{http_code}" -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI/role-arn/arn:aws:iam::333333333333:role/by-arn"); case "$out" in *STATUS=503) sleep 0.2 ;; *) break ;; esac; done; echo "$out"',
      'curl -s -o /dev/null -w "NOTOKEN=%{http_code}\\n" "$AWS_CONTAINER_CREDENTIALS_FULL_URI/"',
      'curl -s -o /dev/null -w "PROFILE=%{http_code}\\n" -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI/profile/other"',
    ].join("\n");
    const r = await runCli(["exec", "--ecs-server", "jonsmith", "--", "/bin/sh", "-c", script], {
      env: {
        ...env,
        // As if aws-vault ran inside ECS: these would beat our server in every SDK.
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/real-task",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: "/var/run/token",
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^TOKEN=[A-Za-z0-9_-]{40}$/m);
    assert.match(r.stdout, /^RELATIVE=none$/m);
    assert.match(r.stdout, /^KEY=none$/m);
    assert.match(r.stdout, /^REGION=eu-west-1$/m);
    assert.match(r.stdout, /"AccessKeyId":"ASIA/);
    assert.equal(
      sts.callsOf("AssumeRole")[0].params.RoleArn,
      "arn:aws:iam::333333333333:role/by-arn",
    );
    assert.match(r.stdout, /^NOTOKEN=403$/m);
    assert.match(r.stdout, /^PROFILE=404$/m, "other profiles only with --all-profiles");
  });
});

Deno.test("exec --ecs-server: /role-arn/ from a role profile with duration_seconds over 1h is capped at 1h", async () => {
  await setup(async (home, env, sts) => {
    // The served profile is a role session: AWS refuses to chain a role for longer than 1h.
    const config = await Deno.readTextFile(home.env.AWS_CONFIG_FILE);
    await Deno.writeTextFile(home.env.AWS_CONFIG_FILE, `${config}duration_seconds = 7200\n`);
    const script =
      'for i in $(seq 100); do out=$(curl -s -w " STATUS=%{http_code}" -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI/role-arn/arn:aws:iam::333333333333:role/by-arn"); case "$out" in *STATUS=503) sleep 0.2 ;; *) break ;; esac; done; echo "$out"';
    const r = await runCli(["exec", "--ecs-server", "other", "--", "/bin/sh", "-c", script], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"AccessKeyId":"ASIA.* STATUS=200/, r.stdout);
    const byArn = sts.callsOf("AssumeRole").filter((c) =>
      c.params.RoleArn === "arn:aws:iam::333333333333:role/by-arn"
    );
    assert.equal(byArn.at(-1)?.params.DurationSeconds, "3600");
  });
});

Deno.test({
  name: "exec --ecs-server --all-profiles: unmodified clients use any profile, no key on disk",
  ignore: noClients,
  fn: async () => {
    await requirePeers(...CLIENT_PEERS);
    await setup(async (_home, env, sts) => {
      const script = [
        'stat -c "MODE=%a" "$AWS_CONFIG_FILE"; cat "$AWS_CONFIG_FILE"',
        `AWS_PROFILE=other /usr/bin/aws sts get-caller-identity --endpoint-url ${sts.url} --query Arn`,
        `AWS_PROFILE=other python3 -c "import boto3;print(boto3.Session().client('sts',endpoint_url='${sts.url}').get_caller_identity()['Arn'])"`,
        'echo "CONFIG=$AWS_CONFIG_FILE"',
      ].join("\n");
      const r = await runCli(
        ["exec", "--ecs-server", "--all-profiles", "jonsmith", "--", "/bin/sh", "-c", script],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      const roleArns = r.stdout.match(/arn:aws:sts::222222222222:assumed-role\/other\/\S+/g) ??
        r.stdout.match(/222222222222/g);
      assert.ok(roleArns && roleArns.length >= 2, r.stdout);
      assert.equal(sts.callsOf("AssumeRole").length, 1, "one role session, served to both clients");
      assert.match(r.stdout, /^MODE=600$/m);
      assert.match(r.stdout, /^credential_process = .* export --format=json other$/m);
      assert.doesNotMatch(r.stdout, /aws_access_key_id|aws_secret_access_key|ASIA/i);
      const configPath = /^CONFIG=(.*)$/m.exec(r.stdout)![1];
      await assert.rejects(Deno.stat(configPath), "the temporary config is removed");
    });
  },
});

Deno.test("exec --ecs-server --all-profiles: a name the SDKs would cut as a comment is left out, and said", async () => {
  await setup(async (home, env) => {
    const config = await Deno.readTextFile(home.env.AWS_CONFIG_FILE);
    await Deno.writeTextFile(
      home.env.AWS_CONFIG_FILE,
      `${config}\n[profile team #ops]\nregion = eu-west-1\n\n[profile tab\t;x]\nregion = eu-west-1\n`,
    );
    const r = await runCli(
      [
        "exec",
        "--ecs-server",
        "--all-profiles",
        "jonsmith",
        "--",
        "/bin/sh",
        "-c",
        'cat "$AWS_CONFIG_FILE"',
      ],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\[profile other\]$/m);
    assert.doesNotMatch(r.stdout, /team|tab/);
    assert.match(r.stderr, /--all-profiles leaves out profile "team #ops": /);
    assert.match(r.stderr, /--all-profiles leaves out profile "tab\\t;x": /);
  });
});

Deno.test("exec with a server: invalid combinations are one line each", async () => {
  await setup(async (_home, env) => {
    const cases: [string[], RegExp][] = [
      [["--ec2-server", "--ecs-server"], /--ec2-server cannot be used with --ecs-server/],
      [["-s", "--ec2-server"], /--ec2-server cannot be used with --ecs-server/],
      [["--ecs-server", "--json"], /--ecs-server cannot be used with --json/],
      [["--ec2-server", "--json"], /--ec2-server cannot be used with --json/],
      [["--ecs-server", "--no-session"], /--ecs-server cannot be used with --no-session/],
      [["--ec2-server", "-n"], /--ec2-server cannot be used with --no-session/],
      [["--lazy"], /--lazy needs --ecs-server/],
      [["--all-profiles"], /--all-profiles needs --ecs-server/],
      [["--ec2-server", "--lazy"], /--lazy needs --ecs-server/],
    ];
    for (const [flags, message] of cases) {
      const r = await runCli(["exec", ...flags, "jonsmith", "--", "true"], { env });
      assert.notEqual(r.code, 0, flags.join(" "));
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    const bad = await runCli(["exec", "--ec2-server", "jonsmith", "--", "true"], {
      env: { ...env, AWS_VAULT_EC2_SERVER_ADDR: "nonsense" },
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^aws-vault: error: AWS_VAULT_EC2_SERVER_ADDR: invalid address/m);
    for (const addr of ["0.0.0.0:8080", "[::]:8080", "10.1.2.3:80"]) {
      const open = await runCli(["exec", "--ec2-server", "jonsmith", "--", "true"], {
        env: { ...env, AWS_VAULT_EC2_SERVER_ADDR: addr },
      });
      assert.equal(open.code, 1, addr);
      assert.match(open.stderr, /neither a loopback nor a link-local/, addr);
    }
  });
});

Deno.test("exec --ecs-server --lazy: no STS call before the first request", async () => {
  await setup(async (_home, env, sts) => {
    const r = await runCli(
      ["exec", "--ecs-server", "--lazy", "jonsmith", "--", "/bin/sh", "-c", "echo started"],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sts.callsOf("GetSessionToken").length, 0);
  });
});

const M2 = "arn:aws:iam::111111111111:mfa/jonsmith-role";
const MFA_ROLE = `\n[profile plain]\nregion = eu-west-1\n` +
  `\n[profile needs-code]\nsource_profile = plain\nrole_arn = arn:aws:iam::222222222222:role/mfa\n` +
  `mfa_serial = ${M2}\n`;
/** Asks for the profile like an SDK: retries while the server answers 503 (bounded). */
const ASK = [
  "for i in $(seq 100); do",
  '  out=$(curl -s -w " STATUS=%{http_code}" -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" ' +
  '"$AWS_CONTAINER_CREDENTIALS_FULL_URI/profile/needs-code")',
  '  case "$out" in *STATUS=503) sleep 0.2 ;; *) break ;; esac',
  "done",
  'echo "$out"',
].join("\n");

Deno.test("a server refresh that needs a code after the child started: GUI driver, never the terminal", async () => {
  await setup(async (home, env, sts) => {
    sts.roles.set("arn:aws:iam::222222222222:role/mfa", { requireMfa: true });
    sts.allowMfaCode(M2, "246802");
    await Deno.writeTextFile(home.env.AWS_CONFIG_FILE, MFA_ROLE, { append: true });
    await home.addKeys("plain", JON.accessKeyId, JON.secretAccessKey);
    // No GUI driver installed: the terminal belongs to the child, so the server says why.
    const refused = await runCli(
      ["exec", "--ecs-server", "--all-profiles", "jonsmith", "--", "/bin/sh", "-c", ASK],
      { env },
    );
    assert.equal(refused.code, 0, refused.stderr);
    assert.match(refused.stdout, /terminal belongs to the running command/);
    assert.match(refused.stdout, /STATUS=500/);
    assert.equal(sts.callsOf("AssumeRole").length, 0);
    // A zenity on PATH: the same request gets its code from the dialog.
    const s = await standIns();
    try {
      await s.add("zenity", { stdout: "246802\n" });
      const served = await runCli(
        ["exec", "--ecs-server", "--all-profiles", "jonsmith", "--", "/bin/sh", "-c", ASK],
        { env: { ...env, PATH: `${s.dir}:${Deno.env.get("PATH")}` } },
      );
      assert.equal(served.code, 0, served.stderr);
      assert.match(served.stdout, /"AccessKeyId":"ASIA.*STATUS=200/);
      assert.equal((await s.calls("zenity")).length, 1);
      assert.equal(sts.callsOf("AssumeRole")[0].params.TokenCode, "246802");
    } finally {
      await s.cleanup();
    }
  });
});
