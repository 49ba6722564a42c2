/**
 * Web identity (against moto's AssumeRoleWithWebIdentity) and credential_process as sources,
 * end to end through the CLI: cached like other sessions, long-term keys from a process
 * accepted, and the bad-input class of a source program (bad JSON, failures, loops, huge output).
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { MOTO_AND_CLI, startMoto } from "../support/moto.ts";
import { ignoreWithout, requirePeers } from "../support/peers.ts";
import { vaultHome } from "../support/vault_home.ts";

const noMoto = await ignoreWithout(...MOTO_AND_CLI);
const ROLE = "arn:aws:iam::123456789012:role/ci";
const JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0In0.";

Deno.test(
  "web identity: token file and token process against moto, cached as sts.AssumeRoleWithWebIdentity",
  { ignore: noMoto },
  async () => {
    await requirePeers(...MOTO_AND_CLI);
    const moto = await startMoto();
    const dir = await Deno.makeTempDir({ prefix: "aws-vault-wi-" });
    const counter = `${dir}/runs`;
    await Deno.writeTextFile(`${dir}/token`, JWT);
    await Deno.writeTextFile(
      `${dir}/token.sh`,
      `#!/bin/sh\necho run >> '${counter}'\nprintf '%s' '${JWT}'\n`,
      { mode: 0o700 },
    );
    const home = await vaultHome(`[profile wif]
role_arn = ${ROLE}
web_identity_token_file = ${dir}/token
region = us-east-1

[profile wip]
role_arn = ${ROLE}
web_identity_token_process = ${dir}/token.sh
region = us-east-1

[profile norole]
web_identity_token_file = ${dir}/token

[profile missing]
role_arn = ${ROLE}
web_identity_token_file = ${dir}/nope
`);
    try {
      const env = { ...home.env, AWS_ENDPOINT_URL: moto.url };
      const f = await runCli(["export", "--format=json", "wif"], { env });
      assert.equal(f.code, 0, f.stderr);
      const json = JSON.parse(f.stdout);
      assert.ok(json.AccessKeyId && json.SessionToken && json.Expiration, f.stdout);
      const p1 = await runCli(["export", "--format=json", "wip"], { env });
      assert.equal(p1.code, 0, p1.stderr);
      const p2 = await runCli(["export", "--format=json", "wip"], { env });
      assert.equal(p2.code, 0, p2.stderr);
      assert.deepEqual(JSON.parse(p2.stdout), JSON.parse(p1.stdout));
      assert.equal((await Deno.readTextFile(counter)).trim().split("\n").length, 1, "cached");
      const files = [...Deno.readDirSync(`${home.dir}/keys`)].map((e) => e.name);
      assert.ok(
        files.some((n) => n.startsWith("sts.AssumeRoleWithWebIdentity,d2lw,,")),
        files.join(" "),
      );

      const nr = await runCli(["export", "--format=json", "norole"], { env });
      assert.equal(nr.code, 1);
      assert.match(
        nr.stderr,
        /^aws-vault: error: profile norole: web_identity_token_file needs role_arn\n$/,
      );
      const mi = await runCli(["export", "--format=json", "missing"], { env });
      assert.equal(mi.code, 1);
      assert.match(
        mi.stderr,
        /^aws-vault: error: profile missing: cannot read web_identity_token_file .*\/nope: /,
      );
    } finally {
      await home.cleanup();
      await Deno.remove(dir, { recursive: true });
      await moto.stop();
    }
  },
);

Deno.test("credential_process as a source: cached when it expires, long-term keys accepted, failures one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-cp-" });
  const counter = `${dir}/runs`;
  const exp = new Date(Date.now() + 3600_000).toISOString();
  const script = (name: string, body: string) => {
    Deno.writeTextFileSync(`${dir}/${name}`, `#!/bin/sh\necho ${name} >> '${counter}'\n${body}\n`, {
      mode: 0o700,
    });
    return `${dir}/${name}`;
  };
  const temp = script(
    "temp.sh",
    `echo '{"Version":1,"AccessKeyId":"ASIAPROC","SecretAccessKey":"s3cr3t","SessionToken":"tok","Expiration":"${exp}"}'`,
  );
  const longTerm = script(
    "long.sh",
    `echo '{"Version":1,"AccessKeyId":"AKIAPROC","SecretAccessKey":"s3cr3t"}'`,
  );
  const garbage = script("garbage.sh", `echo 'AccessKeyId=AKIA secret=hunter2'`);
  const fails = script("fails.sh", "echo 'some diagnostics' >&2; exit 7");
  const version2 = script("v2.sh", `echo '{"Version":2,"AccessKeyId":"A","SecretAccessKey":"B"}'`);
  const noSecret = script("nosecret.sh", `echo '{"Version":1,"AccessKeyId":"A"}'`);
  const huge = script("huge.sh", "head -c 3000000 /dev/zero | tr '\\\\0' a");
  const home = await vaultHome(`[profile temp]
credential_process = ${temp}
region = eu-west-1

[profile long]
credential_process = ${longTerm}

[profile garbage]
credential_process = ${garbage}

[profile fails]
credential_process = ${fails}

[profile v2]
credential_process = ${version2}

[profile nosecret]
credential_process = ${noSecret}

[profile huge]
credential_process = ${huge}
`);
  try {
    const env = home.env;
    const runs = async () => (await Deno.readTextFile(counter)).trim().split("\n");
    const t1 = await runCli(["export", "--format=json", "temp"], { env });
    assert.equal(t1.code, 0, t1.stderr);
    assert.equal(JSON.parse(t1.stdout).AccessKeyId, "ASIAPROC");
    const t2 = await runCli(["export", "--format=json", "temp"], { env });
    assert.equal(t2.code, 0, t2.stderr);
    assert.deepEqual(await runs(), ["temp.sh"], "the second call was served from the cache");

    const l1 = await runCli(["export", "--format=json", "long"], { env });
    assert.equal(l1.code, 0, l1.stderr);
    assert.deepEqual(Object.keys(JSON.parse(l1.stdout)), [
      "Version",
      "AccessKeyId",
      "SecretAccessKey",
    ]);
    await runCli(["export", "--format=json", "long"], { env });
    assert.deepEqual((await runs()).filter((r) => r === "long.sh").length, 2, "never cached");

    const cases: [string, RegExp][] = [
      ["garbage", /profile garbage: credential_process did not print JSON$/],
      ["fails", /profile fails: credential_process exited with status 7$/],
      ["v2", /profile v2: credential_process printed Version 2; only 1 is known$/],
      [
        "nosecret",
        /profile nosecret: credential_process printed no AccessKeyId and SecretAccessKey$/,
      ],
      ["huge", /profile huge: credential_process printed more than 1048576 bytes$/],
    ];
    for (const [name, re] of cases) {
      const r = await runCli(["export", "--format=json", name], { env });
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n").filter((l) => l.startsWith("aws-vault:"));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], new RegExp(`^aws-vault: error: ${re.source}`));
      assert.doesNotMatch(r.stderr, /hunter2/, "the reply is never echoed");
    }
  } finally {
    await home.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("credential_process that runs aws-vault for the same profile is refused, not a hang", async () => {
  const home = await vaultHome("");
  try {
    const cmd = [
      "deno",
      "run",
      "-A",
      "--quiet",
      new URL("../../main.ts", import.meta.url).pathname,
    ];
    await Deno.writeTextFile(
      `${home.dir}/config`,
      `[profile self]\ncredential_process = '${Deno.execPath()}' ${
        cmd.slice(1).join(" ")
      } export --format=json self\n`,
    );
    const r = await runCli(["export", "--format=json", "self"], { env: home.env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /aws-vault: error: profile self: its credential_process runs aws-vault for self again \(a loop\)/,
    );
    assert.match(
      r.stderr,
      /^aws-vault: error: profile self: credential_process exited with status 1$/m,
    );
  } finally {
    await home.cleanup();
  }
});

Deno.test("web identity: a token file that is a directory, a FIFO, huge or empty is one line, no STS call", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-wi-bad-" });
  await Deno.mkdir(`${dir}/adir`);
  await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
  await Deno.writeFile(`${dir}/huge`, new Uint8Array((1 << 20) + 1).fill(97));
  await Deno.writeTextFile(`${dir}/empty`, "\n");
  const section = (name: string, file: string) =>
    `[profile ${name}]\nrole_arn = ${ROLE}\nweb_identity_token_file = ${dir}/${file}\n`;
  const home = await vaultHome(
    [
      section("adir", "adir"),
      section("fifo", "fifo"),
      section("huge", "huge"),
      section("empty", "empty"),
    ]
      .join("\n"),
  );
  try {
    // Nothing listens here: a call that reached STS would fail differently.
    const env = { ...home.env, AWS_ENDPOINT_URL: "http://127.0.0.1:9" };
    const cases: [string, RegExp][] = [
      ["adir", /web_identity_token_file .*\/adir is not a file$/],
      ["fifo", /web_identity_token_file .*\/fifo is not a file$/],
      ["huge", /web_identity_token_file .*\/huge is larger than 1048576 bytes$/],
      ["empty", /the web identity token is empty$/],
    ];
    for (const [name, re] of cases) {
      const r = await runCli(["export", "--format=json", name], { env });
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr.trim(), new RegExp(`^aws-vault: error: profile ${name}: ${re.source}`));
    }
  } finally {
    await home.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
