/**
 * `aws-vault login` end to end, against the test STS/IAM and a local federation endpoint
 * (`AWS_VAULT_SIGNIN_ENDPOINT`) that checks the Session JSON and hands out a SigninToken.
 */
import assert from "node:assert/strict";
import { sdkStsClientFactory } from "../../lib/aws/sts_client.ts";
import { ALLOW_ALL_POLICY } from "../../lib/vault/federation_token.ts";
import { runCli } from "../support/cli.ts";
import { standIns } from "../support/stand_in.ts";
import { TestSignin } from "../support/test_signin.ts";
import { TestSts } from "../support/test_sts.ts";
import { type VaultHome, vaultHome } from "../support/vault_home.ts";

const M = "arn:aws:iam::111111111111:mfa/alice";
const ROLE = "arn:aws:iam::111111111111:role/admin";
const ALICE = {
  name: "alice",
  path: "/team/ops/",
  accessKeyId: "AKIATESTALICE0000001",
  secretAccessKey: "alice-secret+key/0000000000000000000000",
};

interface Ctx {
  home: VaultHome;
  env: Record<string, string>;
  sts: TestSts;
  signin: TestSignin;
}

async function setup(fn: (c: Ctx) => Promise<void>): Promise<void> {
  const sts = new TestSts([ALICE]);
  sts.roles.set(ROLE, { requireMfa: true });
  const signin = new TestSignin(sts);
  const home = await vaultHome("");
  const mfa = `${home.dir}/mfa.sh`;
  await Deno.writeTextFile(mfa, "#!/bin/sh\necho 246802\n", { mode: 0o700 });
  await Deno.writeTextFile(
    home.env.AWS_CONFIG_FILE,
    `[profile alice]\nregion = eu-west-1\n\n` +
      `[profile admin]\nsource_profile = alice\nrole_arn = ${ROLE}\nmfa_serial = ${M}\nmfa_process = ${mfa}\nregion = us-gov-west-1\n`,
  );
  try {
    await home.addKeys("alice", ALICE.accessKeyId, ALICE.secretAccessKey);
    await fn({
      home,
      sts,
      signin,
      env: { ...home.env, AWS_ENDPOINT_URL: sts.url, AWS_VAULT_SIGNIN_ENDPOINT: signin.url },
    });
  } finally {
    await home.cleanup();
    await signin.close();
    await sts.close();
  }
}

/** The login link printed by `login -s`, checked against the endpoint's records. */
function checkLoginUrl(c: Ctx, printed: string, destination: string): URL {
  const url = new URL(printed.trim());
  assert.equal(`${url.origin}${url.pathname}`, c.signin.url);
  assert.deepEqual([...url.searchParams.keys()].sort(), [
    "Action",
    "Destination",
    "Issuer",
    "SigninToken",
  ]);
  assert.equal(url.searchParams.get("Action"), "login");
  assert.equal(url.searchParams.get("Issuer"), "aws-vault");
  assert.equal(url.searchParams.get("Destination"), destination);
  assert.equal(c.signin.requests.length, 1, c.signin.refused.join("; "));
  assert.equal(url.searchParams.get("SigninToken"), c.signin.requests[0].token);
  return url;
}

function noSecrets(text: string, ...secrets: string[]): void {
  for (const s of secrets) assert.ok(!text.includes(s), "a secret was printed");
}

Deno.test("login of an IAM user: GetFederationToken as the user, console session as long as the token", async () => {
  await setup(async (c) => {
    const r = await runCli(["login", "-s", "alice"], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    checkLoginUrl(
      c,
      r.stdout,
      "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
    );
    const [fed] = c.sts.callsOf("GetFederationToken");
    assert.equal(fed.accessKeyId, ALICE.accessKeyId);
    assert.equal(fed.params.Name, "alice"); // the user name, without its path
    assert.equal(fed.params.DurationSeconds, "3600");
    assert.deepEqual(JSON.parse(fed.params.Policy), {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
    });
    assert.equal(c.sts.callsOf("GetSessionToken").length, 0);
    assert.equal(c.sts.callsOf("GetUser").length, 1);
    const req = c.signin.requests[0];
    assert.equal(c.sts.sessionInfo(req.session.sessionId)?.issuedBy, "GetFederationToken");
    assert.equal(req.sessionDuration, undefined);
    noSecrets(r.stdout + r.stderr, ALICE.secretAccessKey, req.session.sessionKey);
  });
});

Deno.test("login -d and AWS_FEDERATION_TOKEN_TTL set the federated session's length", async () => {
  await setup(async (c) => {
    let r = await runCli(["login", "-s", "-d", "8h", "--path", "ec2/v2/home", "alice"], {
      env: c.env,
    });
    assert.equal(r.code, 0, r.stderr);
    checkLoginUrl(
      c,
      r.stdout,
      "https://eu-west-1.console.aws.amazon.com/ec2/v2/home?region=eu-west-1",
    );
    assert.equal(c.sts.callsOf("GetFederationToken")[0].params.DurationSeconds, "28800");
    c.signin.requests.length = 0;
    r = await runCli(["login", "--stdout", "alice", "--region", "cn-north-1"], {
      env: { ...c.env, AWS_FEDERATION_TOKEN_TTL: "2h" },
    });
    assert.equal(r.code, 0, r.stderr);
    checkLoginUrl(
      c,
      r.stdout,
      "https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1",
    );
    assert.equal(c.sts.callsOf("GetFederationToken")[1].params.DurationSeconds, "7200");
  });
});

Deno.test("login when iam:GetUser is denied or failing: the user name comes from the ARN", async () => {
  await setup(async (c) => {
    c.sts.actionFaults.set("GetUser", [{ kind: "denied" }, { kind: "server-error" }]);
    let r = await runCli(["login", "-s", "alice"], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(c.sts.callsOf("GetFederationToken")[0].params.Name, "alice");
    // A 5xx is retried by the SDK; make every attempt fail.
    c.sts.actionFaults.set("GetUser", Array(5).fill({ kind: "server-error" }));
    r = await runCli(["login", "-s", "alice"], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(c.sts.callsOf("GetFederationToken")[1].params.Name, "alice");
  });
});

Deno.test("login of a role profile: role credentials directly, console session length asked for", async () => {
  await setup(async (c) => {
    c.sts.allowMfaCode(M, "246802");
    const r = await runCli(["login", "-s", "-d", "4h", "admin"], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    checkLoginUrl(
      c,
      r.stdout,
      "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
    );
    assert.equal(c.sts.callsOf("GetFederationToken").length, 0);
    const [ar] = c.sts.callsOf("AssumeRole");
    assert.equal(ar.params.DurationSeconds, "14400");
    const req = c.signin.requests[0];
    assert.equal(c.sts.sessionInfo(req.session.sessionId)?.issuedBy, "AssumeRole");
    // The role session's remaining life (4h less the seconds this took), not AWS's 1h default.
    assert.ok(
      req.sessionDuration! > 14_000 && req.sessionDuration! <= 14_400,
      String(req.sessionDuration),
    );
  });
});

Deno.test("login without a profile uses the credentials in the environment", async () => {
  await setup(async (c) => {
    const base = { ...c.env, AWS_REGION: "us-east-2" };
    // Long-term keys: federated.
    let r = await runCli(["login", "-s"], {
      env: {
        ...base,
        AWS_ACCESS_KEY_ID: ALICE.accessKeyId,
        AWS_SECRET_ACCESS_KEY: ALICE.secretAccessKey,
      },
    });
    assert.equal(r.code, 0, r.stderr);
    checkLoginUrl(
      c,
      r.stdout,
      "https://us-east-2.console.aws.amazon.com/console/home?region=us-east-2",
    );
    assert.equal(c.sts.callsOf("GetFederationToken").length, 1);
    assert.equal(c.sts.callsOf("GetFederationToken")[0].params.DurationSeconds, "3600");
    // `-d 0` (also AWS_VAULT_DURATION=0) is "not given", as with a profile: the default, or
    // AWS_FEDERATION_TOKEN_TTL.
    const keys = {
      ...base,
      AWS_ACCESS_KEY_ID: ALICE.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ALICE.secretAccessKey,
    };
    for (
      const [args, env, seconds] of [
        [["-d", "0"], {}, "3600"],
        [["-d", "0"], { AWS_FEDERATION_TOKEN_TTL: "2h" }, "7200"],
        [[], { AWS_VAULT_DURATION: "0", AWS_FEDERATION_TOKEN_TTL: "90m" }, "5400"],
      ] as const
    ) {
      r = await runCli(["login", "-s", ...args], { env: { ...keys, ...env } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(c.sts.callsOf("GetFederationToken").at(-1)?.params.DurationSeconds, seconds);
    }
    c.signin.requests.length = 0;

    // A role session from `exec` (AWS_CREDENTIAL_EXPIRATION set): used as it is.
    c.sts.allowMfaCode(M, "246802");
    const exported = await runCli(["export", "--format", "env", "admin"], { env: c.env });
    assert.equal(exported.code, 0, exported.stderr);
    const vars = Object.fromEntries(
      exported.stdout.trim().split("\n").map((
        l,
      ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    c.signin.requests.length = 0;
    r = await runCli(["login", "-s"], {
      env: {
        ...base,
        AWS_ACCESS_KEY_ID: vars.AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: vars.AWS_SECRET_ACCESS_KEY,
        AWS_SESSION_TOKEN: vars.AWS_SESSION_TOKEN,
        AWS_CREDENTIAL_EXPIRATION: vars.AWS_CREDENTIAL_EXPIRATION,
        AWS_VAULT: "admin", // works inside an exec subshell
      },
    });
    assert.equal(r.code, 0, r.stderr);
    checkLoginUrl(
      c,
      r.stdout,
      "https://us-east-2.console.aws.amazon.com/console/home?region=us-east-2",
    );
    assert.equal(c.signin.requests[0].session.sessionId, vars.AWS_ACCESS_KEY_ID);
    assert.ok(c.signin.requests[0].sessionDuration! <= 3600);
    assert.equal(c.sts.callsOf("GetFederationToken").length, 4); // none more

    // A federated-user session (another tool's GetFederationToken, with its expiry): used as it
    // is, and its console session is the token's (AWS refuses a SessionDuration for it).
    const fed = await sdkStsClientFactory()(ALICE, { endpointUrl: c.sts.url, region: "us-east-1" })
      .getFederationToken({ name: "alice", policy: ALLOW_ALL_POLICY, durationSeconds: 3600 });
    c.signin.requests.length = 0;
    r = await runCli(["login", "-s"], {
      env: {
        ...base,
        AWS_ACCESS_KEY_ID: fed.accessKeyId,
        AWS_SECRET_ACCESS_KEY: fed.secretAccessKey,
        AWS_SESSION_TOKEN: fed.sessionToken!,
        AWS_CREDENTIAL_EXPIRATION: fed.expiration!.toISOString(),
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(c.signin.requests[0]?.session.sessionId, fed.accessKeyId, c.signin.refused[0]);
    assert.equal(c.signin.requests[0].sessionDuration, undefined);
    assert.equal(c.sts.callsOf("GetFederationToken").length, 5); // none more

    // A GetSessionToken session cannot sign in: said so, nothing sent to the endpoint.
    const gst = await runCli(["export", "--format", "env", "alice"], { env: c.env });
    const g = Object.fromEntries(
      gst.stdout.trim().split("\n").map((
        l,
      ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    c.signin.requests.length = 0;
    r = await runCli(["login", "-s"], {
      env: {
        ...base,
        AWS_ACCESS_KEY_ID: g.AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: g.AWS_SECRET_ACCESS_KEY,
        AWS_SESSION_TOKEN: g.AWS_SESSION_TOKEN,
      },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^aws-vault: error: .*GetSessionToken session.*console/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.equal(c.signin.requests.length, 0);

    // Nothing at all.
    r = await runCli(["login", "-s"], { env: base });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no profile given and no AWS_ACCESS_KEY_ID/);
  });
});

Deno.test("login with no browser opener and no --stdout prints the link and says why", async () => {
  await setup(async (c) => {
    const empty = await Deno.makeTempDir();
    try {
      const r = await runCli(["login", "alice"], { env: { ...c.env, PATH: empty } });
      assert.equal(r.code, 0, r.stderr);
      checkLoginUrl(
        c,
        r.stdout,
        "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
      );
      assert.match(r.stderr, /could not open a browser: xdg-open .*not found on PATH/);
      assert.match(r.stderr, /--stdout/);
    } finally {
      await Deno.remove(empty, { recursive: true });
    }
  });
});

Deno.test("login --browser (and AWS_VAULT_BROWSER) runs the template with a one-use address", async () => {
  await setup(async (c) => {
    const s = await standIns();
    try {
      await s.add("chromium");
      for (const how of ["flag", "env"] as const) {
        c.signin.requests.length = 0;
        const template = `chromium --profile-directory='Profile 3' {url}`;
        const args = how === "flag"
          ? ["login", "--browser", template, "alice"]
          : ["login", "alice"];
        const env = {
          ...c.env,
          PATH: s.dir,
          ...(how === "env" ? { AWS_VAULT_BROWSER: template } : {}),
        };
        const running = runCli(args, { env });
        let argv: string[] | undefined;
        for (let i = 0; i < 600 && !argv; i++) {
          const calls = await s.calls("chromium");
          argv = calls[how === "flag" ? 0 : 1]?.argv;
          if (!argv) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(argv, "the browser stand-in was run");
        assert.equal(argv[0], "--profile-directory=Profile 3");
        assert.match(argv[1], /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
        const res = await fetch(argv[1], { redirect: "manual" });
        await res.body?.cancel();
        assert.equal(res.status, 302);
        const r = await running;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "");
        checkLoginUrl(
          c,
          res.headers.get("location")!,
          "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
        );
      }
    } finally {
      await s.cleanup();
    }
  });
});

Deno.test("login --auto-logout wraps the link in the partition's logout", async () => {
  await setup(async (c) => {
    const r = await runCli(["login", "-s", "-a", "alice"], { env: c.env });
    assert.equal(r.code, 0, r.stderr);
    const url = new URL(r.stdout.trim());
    assert.equal(url.origin, new URL(c.signin.url).origin);
    assert.equal(url.pathname, "/oauth");
    assert.equal(url.searchParams.get("Action"), "logout");
    checkLoginUrl(
      c,
      url.searchParams.get("redirect_uri")!,
      "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
    );
  });
});

Deno.test("federation endpoint failures: one line, no secret, exit 1", async () => {
  await setup(async (c) => {
    const cases: [TestSignin["faults"][number], RegExp][] = [
      [{ status: 500 }, /getSigninToken at 127\.0\.0\.1:\d+ failed: HTTP 500$/],
      [{ status: 403 }, /failed: HTTP 403$/],
      [{ body: "<html>not json" }, /the reply is not JSON$/],
      [{ body: '{"Other":"x"}' }, /the reply has no SigninToken$/],
      [{ body: '{"SigninToken":""}' }, /the reply has no SigninToken$/],
      [{ body: '{"SigninToken":42}' }, /the reply has no SigninToken$/],
      [{ body: `{"SigninToken":"${"x".repeat(70_000)}"}` }, /the reply is too large$/],
    ];
    for (const [fault, want] of cases) {
      c.signin.faults.push(fault);
      const r = await runCli(["login", "-s", "alice"], { env: c.env });
      assert.equal(r.code, 1, JSON.stringify(fault).slice(0, 40));
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^aws-vault: error: signin:/);
      assert.match(lines[0], want);
      assert.equal(r.stdout, "");
      noSecrets(r.stderr, ALICE.secretAccessKey, "test-session-secret", "test-session-token");
    }
    // A closed port.
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const r = await runCli(["login", "-s", "alice"], {
      env: { ...c.env, AWS_VAULT_SIGNIN_ENDPOINT: `http://127.0.0.1:${port}/federation` },
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^aws-vault: error: signin:getSigninToken at .* failed: cannot reach it/,
    );
    noSecrets(r.stderr, "test-session-secret", "test-session-token");
  });
});

Deno.test("bad login input: one clear line, nothing sent", async () => {
  await setup(async (c) => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--path", "//evil.example/"], {}, /--path .* is not a console path/],
      [["--path", "https://evil.example/"], {}, /is not a console path/],
      [["--region", "evil.example"], {}, /is not an AWS region name|invalid region "evil.example"/],
      [["--region", "us-iso-east-1"], {}, /isolated partition/],
      [
        [],
        { AWS_VAULT_SIGNIN_ENDPOINT: "http://signin.example/federation" },
        /must be an https URL/,
      ],
      [[], { AWS_VAULT_SIGNIN_ENDPOINT: "not a url" }, /is not a URL/],
      [[], { AWS_VAULT_SIGNIN_ENDPOINT: "https://x.example/f?a=1" }, /no query/],
      [["--browser", "firefox 'unclosed"], {}, /unclosed/],
      [["nosuchprofile"], {}, /nosuchprofile/],
    ];
    for (const [args, extra, want] of cases) {
      const r = await runCli([
        "login",
        ...args,
        ...(args.includes("nosuchprofile") ? [] : ["alice"]),
      ], {
        env: { ...c.env, ...extra },
      });
      assert.notEqual(r.code, 0, args.join(" "));
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^aws-vault: error: /);
      assert.match(lines[0], want, `${args.join(" ")}: ${lines[0]}`);
    }
    assert.equal(c.signin.requests.length, 0);
  });
});
