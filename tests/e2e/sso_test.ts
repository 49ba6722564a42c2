/**
 * IAM Identity Center end to end through the CLI: the local SSO portal + OIDC test server, the
 * stand-in browser on PATH as `xdg-open`, the file backend. Sign-in once, reuse within the
 * token's life, refresh without the browser, single flight across 16 processes, and the
 * faults of the issue (denied, revoked refresh token, 401, missing sso_region).
 */
import assert from "node:assert/strict";
import { runCli, spawnCli } from "../support/cli.ts";
import { browserVisits, installStandInBrowser } from "../support/browser.ts";
import { TestSso } from "../support/test_sso.ts";
import { TestSts } from "../support/test_sts.ts";
import { commandPeer, ignoreWithout, requirePeers } from "../support/peers.ts";
import { AWS_CLI_V2 } from "../support/moto.ts";

const BOTO3 = commandPeer("boto3", "python3", ["-c", "import boto3"]);
const CLI_V2 = commandPeer("aws CLI v2", AWS_CLI_V2, ["--version"]);
const noBoto3 = await ignoreWithout(BOTO3);
const noCliV2 = await ignoreWithout(CLI_V2);
import { type VaultHome, vaultHome } from "../support/vault_home.ts";

const START = "https://corp.awsapps.com/start";
const CONFIG = `[sso-session corp]
sso_start_url = ${START}
sso_region = eu-west-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Dev
region = eu-west-1

[profile ops]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Ops

[profile audit]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Audit

[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = us-east-1
sso_account_id = 222222222222
sso_role_name = Admin

[profile noregion]
sso_start_url = https://noregion.awsapps.com/start
sso_account_id = 222222222222
sso_role_name = Admin
`;

interface World {
  sso: TestSso;
  home: VaultHome;
  env: Record<string, string>;
  log: string;
  run(args: string[], extra?: Record<string, string>): ReturnType<typeof runCli>;
}

async function world(fn: (w: World) => Promise<void>, config = CONFIG): Promise<void> {
  const sso = new TestSso();
  const home = await vaultHome(config);
  const bin = `${home.dir}/bin`;
  await Deno.mkdir(bin);
  const log = await installStandInBrowser(bin);
  const env = {
    ...home.env,
    PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    DISPLAY: ":99",
    STAND_IN_BROWSER_LOG: log,
    AWS_ENDPOINT_URL_SSO: sso.url,
    AWS_ENDPOINT_URL_SSO_OIDC: sso.url,
  };
  try {
    await fn({
      sso,
      home,
      env,
      log,
      run: (args, extra = {}) => runCli(args, { env: { ...env, ...extra } }),
    });
  } finally {
    await home.cleanup();
    await sso.close();
  }
}

function creds(stdout: string): { AccessKeyId: string; SessionToken: string } {
  return JSON.parse(stdout);
}

Deno.test("SSO: first use signs in once in the browser (auth code + PKCE); later calls make no OIDC call", async () => {
  await world(async (w) => {
    const first = await w.run(["export", "--format=json", "dev"]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(creds(first.stdout).AccessKeyId, /^ASIASSO/);
    const visits = await browserVisits(w.log);
    assert.equal(visits.length, 1);
    assert.match(
      visits[0],
      /\/authorize\?response_type=code&client_id=client-\d+&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Foauth%2Fcallback&state=.+&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge=/,
    );
    assert.equal(w.sso.callsOf("RegisterClient").length, 1);
    assert.deepEqual(w.sso.callsOf("RegisterClient")[0].body.grantTypes, [
      "authorization_code",
      "refresh_token",
    ]);
    assert.equal(w.sso.callsOf("CreateToken", "authorization_code").length, 1);
    assert.match(first.stderr, /Opening the sign-in page for https:\/\/corp\.awsapps\.com\/start/);
    const oidcCalls = w.sso.oidcCallCount();

    // Same role: served from the session cache. Another role: the stored token, no OIDC call.
    const again = await w.run(["export", "--format=json", "dev"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(creds(again.stdout).AccessKeyId, creds(first.stdout).AccessKeyId);
    const ops = await w.run(["export", "--format=json", "ops"]);
    assert.equal(ops.code, 0, ops.stderr);
    assert.notEqual(creds(ops.stdout).AccessKeyId, creds(first.stdout).AccessKeyId);
    assert.equal(w.sso.oidcCallCount(), oidcCalls);
    assert.equal(w.sso.callsOf("GetRoleCredentials").length, 2);
    assert.equal((await browserVisits(w.log)).length, 1);

    // The token is in the vault (encrypted), under aws-vault's key; never in plaintext.
    const files = [...Deno.readDirSync(`${w.home.dir}/keys`)].map((e) => e.name);
    assert.ok(files.includes("oidc:https:%2F%2Fcorp.awsapps.com%2Fstart"), files.join(" "));
    for (const f of files) {
      const text = await Deno.readTextFile(`${w.home.dir}/keys/${f}`);
      assert.doesNotMatch(text, /access-token-|refresh-token-|client-secret-/);
    }
  });
});

Deno.test("SSO: after the access token expires, the refresh token renews it without the browser", async () => {
  await world(async (w) => {
    // Tokens that live 30 s are already "too short" for the next run (a minute is the margin).
    w.sso.accessTokenTtlSeconds = 30;
    const first = await w.run(["export", "--format=json", "dev"]);
    assert.equal(first.code, 0, first.stderr);
    const ops = await w.run(["export", "--format=json", "ops"]);
    assert.equal(ops.code, 0, ops.stderr);
    assert.equal((await browserVisits(w.log)).length, 1);
    assert.equal(w.sso.callsOf("CreateToken", "refresh_token").length, 1);
    assert.equal(w.sso.callsOf("RegisterClient").length, 1);
  });
});

Deno.test("SSO: 16 parallel export --format=json (two roles, one session) open the browser once", async () => {
  await world(async (w) => {
    const runs = await Promise.all(
      Array.from(
        { length: 16 },
        (_, i) => w.run(["export", "--format=json", i % 2 ? "ops" : "dev"]),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal(new Set(runs.map((r) => creds(r.stdout).AccessKeyId)).size, 2);
    assert.equal((await browserVisits(w.log)).length, 1);
    assert.equal(w.sso.callsOf("RegisterClient").length, 1);
    assert.equal(w.sso.callsOf("CreateToken").length, 1);
    assert.equal(w.sso.callsOf("GetRoleCredentials").length, 2);
  });
});

const OIDC_ITEM = "oidc:https:%2F%2Fcorp.awsapps.com%2Fstart";

function vaultFiles(w: World): string[] {
  try {
    return [...Deno.readDirSync(`${w.home.dir}/keys`)].map((e) => e.name);
  } catch {
    return [];
  }
}

Deno.test("SSO: no DISPLAY means a device code: URL and code on stderr, polling until approved", async () => {
  await world(async (w) => {
    const env = { ...w.env };
    delete (env as Record<string, string>).DISPLAY;
    const p = spawnCli(["export", "--format=json", "dev"], { env });
    const m = await p.stderrMatch(/confirm the code (CODE-\d+) \(Ctrl-C to cancel\):\n(\S+)/);
    // The user approves on another device, a moment later (the client has polled by then).
    assert.ok(m[2].endsWith(`user_code=${m[1]}`), m[2]);
    w.sso.tokenFaults.push("authorization_pending");
    const page = await fetch(m[2], { headers: { "x-test-decision": "approve" } });
    await page.body?.cancel();
    const r = await p.finish();
    assert.equal(r.code, 0, r.stderr);
    assert.match(creds(r.stdout).AccessKeyId, /^ASIASSO/);
    assert.deepEqual(await browserVisits(w.log), [], "no browser was started");
    assert.deepEqual(w.sso.callsOf("RegisterClient")[0].body.grantTypes, [
      "urn:ietf:params:oauth:grant-type:device_code",
      "refresh_token",
    ]);
    assert.ok(w.sso.callsOf("CreateToken").length >= 2, "it polled");
  });
});

Deno.test("SSO: --use-device-code opens the verification page; --stdout only prints it", async () => {
  await world(async (w) => {
    const r = await w.run(["export", "--format=json", "--use-device-code", "dev"]);
    assert.equal(r.code, 0, r.stderr);
    const visits = await browserVisits(w.log);
    assert.equal(visits.length, 1);
    assert.match(visits[0], /\/device\?user_code=CODE-/);

    const p = spawnCli(["export", "--format=json", "--stdout", "ops"], {
      env: { ...w.env, AWS_VAULT_FILE_PASSPHRASE: "test-passphrase" },
    });
    // ops shares the sso-session: its token is reused, so nothing is printed or opened.
    const ops = await p.finish();
    assert.equal(ops.code, 0, ops.stderr);
    assert.doesNotMatch(ops.stderr, /sign in/i);

    const q = spawnCli(["export", "--format=json", "--stdout", "legacy"], { env: w.env });
    const m = await q.stderrMatch(/confirm the code (CODE-\d+) \(Ctrl-C to cancel\):\n(\S+)/);
    const page = await fetch(m[2], { headers: { "x-test-decision": "approve" } });
    await page.body?.cancel();
    const legacy = await q.finish();
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.equal((await browserVisits(w.log)).length, 1, "--stdout opened no browser");
  });
});

Deno.test("SSO: a denied sign-in is one line, exit 1, and stores nothing", async () => {
  await world(async (w) => {
    const r = await w.run(["export", "--format=json", "dev"], {
      STAND_IN_BROWSER_DECISION: "deny",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^aws-vault: error: SSO sign-in for https:\/\/corp\.awsapps\.com\/start was denied$/m,
    );
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
    assert.equal(r.stdout, "");
    assert.ok(!vaultFiles(w).includes(OIDC_ITEM));

    const d = await w.run(["export", "--format=json", "--use-device-code", "dev"], {
      STAND_IN_BROWSER_DECISION: "deny",
    });
    assert.equal(d.code, 1);
    assert.match(d.stderr, /^aws-vault: error: SSO sign-in for .* was denied$/m);
    assert.ok(!vaultFiles(w).includes(OIDC_ITEM));
  });
});

Deno.test("SSO: a device code that expires before approval ends with one line", async () => {
  await world(async (w) => {
    w.sso.tokenFaults.push("authorization_pending", "slow_down", "expired_token");
    const r = await w.run(["export", "--format=json", "--use-device-code", "dev"], {
      STAND_IN_BROWSER_DECISION: "ignore",
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^aws-vault: error: SSO sign-in for .* was not approved in time; run the command again$/m,
    );
    assert.equal(w.sso.callsOf("CreateToken").length, 3, "slow_down did not end the polling");
    assert.ok(!vaultFiles(w).includes(OIDC_ITEM));
  });
});

Deno.test("SSO: a revoked refresh token falls back to the browser once", async () => {
  await world(async (w) => {
    w.sso.accessTokenTtlSeconds = 30;
    assert.equal((await w.run(["export", "--format=json", "dev"])).code, 0);
    w.sso.revokeRefreshTokens();
    const r = await w.run(["export", "--format=json", "ops"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /The SSO session for https:\/\/corp\.awsapps\.com\/start has ended \(InvalidGrantException\); signing in again\./,
    );
    assert.equal((await browserVisits(w.log)).length, 2);
    assert.equal(w.sso.callsOf("RegisterClient").length, 1, "the client registration was reused");
  });
});

Deno.test("SSO: a 401 from the portal for a stored token drops it and renews (refresh, then browser)", async () => {
  await world(async (w) => {
    assert.equal((await w.run(["export", "--format=json", "dev"])).code, 0);
    w.sso.revokeAccessTokens();
    const r = await w.run(["export", "--format=json", "ops"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(w.sso.callsOf("CreateToken", "refresh_token").length, 1);
    assert.equal((await browserVisits(w.log)).length, 1, "the refresh token sufficed");

    // Both revoked (signed out in the portal): the refresh fails too, so the browser once.
    w.sso.revokeAccessTokens();
    w.sso.revokeRefreshTokens();
    const audit = await w.run(["export", "--format=json", "audit"]);
    assert.equal(audit.code, 0, audit.stderr);
    assert.equal((await browserVisits(w.log)).length, 2);
  });
});

Deno.test("SSO: profile mistakes are one line each (missing sso_region, account, role, session)", async () => {
  const config = `${CONFIG}
[profile norole]
sso_session = corp
sso_account_id = 111111111111

[profile nosession]
sso_session = missing
sso_account_id = 111111111111
sso_role_name = Dev

[profile badurl]
sso_start_url = corp.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 111111111111
sso_role_name = Dev

[profile badaccount]
sso_session = corp
sso_account_id = 1111-2222
sso_role_name = Dev

[profile badregion]
sso_start_url = https://x.awsapps.com/start
sso_region = ../../evil
sso_account_id = 111111111111
sso_role_name = Dev
`;
  await world(async (w) => {
    const cases: [string, RegExp][] = [
      ["noregion", /profile noregion: sso_region is missing \(set it in \[profile noregion\]\)/],
      ["norole", /profile norole: sso_role_name is missing/],
      ["badaccount", /profile badaccount: sso_account_id "1111-2222" is not a 12-digit account ID/],
      ["nosession", /profile nosession: sso_session 'missing' has no sso_start_url/],
      ["badurl", /profile badurl: sso_start_url is not an https URL/],
      // lib/config refuses such a region before SSO is reached.
      ["badregion", /invalid sso_region "\.\.\/\.\.\/evil" \(from the config file\)/],
    ];
    for (const [name, re] of cases) {
      const r = await w.run(["export", "--format=json", name]);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^aws-vault: error: ${re.source}`));
    }
    assert.equal(w.sso.calls.length, 0);
    assert.deepEqual(await browserVisits(w.log), []);
  }, config);
});

Deno.test("SSO: Ctrl-C while waiting for the browser: one line, exit 130, no token, lock released", async () => {
  await world(async (w) => {
    const p = spawnCli(["export", "--format=json", "dev"], {
      env: { ...w.env, STAND_IN_BROWSER_DECISION: "ignore" },
    });
    await p.stderrMatch(/Opening the sign-in page/);
    p.child.kill("SIGINT");
    const r = await p.finish();
    assert.equal(r.code, 130, r.stderr);
    assert.match(
      r.stderr,
      /^aws-vault: error: SSO sign-in for https:\/\/corp\.awsapps\.com\/start was cancelled$/m,
    );
    assert.ok(!vaultFiles(w).includes(OIDC_ITEM));
    const locks = [...Deno.readDirSync(`${w.home.dir}/.awsvault/locks`)].map((e) => e.name);
    assert.deepEqual(locks.filter((n) => n.endsWith(".lock")), []);
    // The device-code wait is cancelled the same way.
    const d = spawnCli(["export", "--format=json", "--use-device-code", "dev"], {
      env: { ...w.env, STAND_IN_BROWSER_DECISION: "ignore" },
    });
    await d.stderrMatch(/confirm the code/);
    d.child.kill("SIGINT");
    const dr = await d.finish();
    assert.equal(dr.code, 130, dr.stderr);
    assert.match(dr.stderr, /^aws-vault: error: SSO sign-in for .* was cancelled$/m);
    assert.ok(!vaultFiles(w).includes(OIDC_ITEM));
    // The next run signs in at once (nothing stale waits for the dead one).
    const next = await w.run(["export", "--format=json", "dev"]);
    assert.equal(next.code, 0, next.stderr);
  });
});

Deno.test("SSO as a source: role profile with source_profile = an SSO profile assumes the role with the SSO credentials", async () => {
  const role = "arn:aws:iam::111111111111:role/deploy";
  const config = `${CONFIG}
[profile deploy]
source_profile = dev
role_arn = ${role}
region = eu-west-1
`;
  const sts = new TestSts();
  sts.roles.set(role, { requireMfa: false });
  try {
    await world(async (w) => {
      w.sso.onIssue = (c) =>
        sts.acceptSessionKey(c, `arn:aws:sts::${c.accountId}:assumed-role/${c.roleName}/user`);
      const r = await w.run(["export", "--format=json", "deploy"], {
        AWS_ENDPOINT_URL_STS: sts.url,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(creds(r.stdout).AccessKeyId, /^ASIATEST/);
      const calls = sts.callsOf("AssumeRole");
      assert.equal(calls.length, 1);
      assert.equal(calls[0].accessKeyId, w.sso.issued[0].accessKeyId);
      assert.equal(calls[0].params.RoleArn, role);
      assert.equal(sts.rejected.length, 0, sts.rejected.join("; "));
    }, config);
  } finally {
    await sts.close();
  }
});

Deno.test("SSO: list shows the token on each profile of the session; clear removes it per profile or sso-session", async () => {
  await world(async (w) => {
    assert.equal((await w.run(["export", "--format=json", "dev"])).code, 0);
    assert.equal((await w.run(["export", "--format=json", "legacy"])).code, 0);
    const list = await w.run(["list"]);
    assert.equal(list.code, 0, list.stderr);
    const row = (name: string) =>
      list.stdout.split("\n").find((l) => l.startsWith(`${name} `)) ?? "";
    assert.match(
      row("dev"),
      /sso\.GetRoleCredentials:\d+m\d+s, oidc:https:\/\/corp\.awsapps\.com\/start$/,
    );
    assert.match(row("ops"), /oidc:https:\/\/corp\.awsapps\.com\/start$/);
    assert.match(row("legacy"), /oidc:https:\/\/legacy\.awsapps\.com\/start$/);
    const sessions = await w.run(["list", "--sessions"]);
    assert.match(sessions.stdout, /^oidc:https:\/\/corp\.awsapps\.com\/start$/m);

    // clear <profile>: its sessions and its session's token; the other start URL stays.
    const c = await w.run(["clear", "ops"]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, "Cleared 1 sessions.\n");
    assert.ok(!vaultFiles(w).includes(OIDC_ITEM));
    assert.ok(vaultFiles(w).includes("oidc:https:%2F%2Flegacy.awsapps.com%2Fstart"));
    // clear <sso-session>: that session's token only.
    assert.equal((await w.run(["export", "--format=json", "ops"])).code, 0);
    const cs = await w.run(["clear", "corp"]);
    assert.equal(cs.code, 0, cs.stderr);
    assert.equal(cs.stdout, "Cleared 1 sessions.\n");
    assert.ok(!vaultFiles(w).includes(OIDC_ITEM));
    // clear: everything.
    const all = await w.run(["clear"]);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(vaultFiles(w), []);
  });
});

Deno.test(
  "SSO: exec --profile-env writes the AWS CLI's token cache; boto3 in the child signs in with it",
  { ignore: noBoto3 },
  async () => {
    await requirePeers(BOTO3);
    await world(async (w) => {
      const py =
        "import boto3; print(boto3.Session().get_credentials().get_frozen_credentials().access_key)";
      const r = await w.run(["exec", "--profile-env", "dev", "--", "python3", "-c", py]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(w.sso.callsOf("GetRoleCredentials").length, 2, "ours, then boto3's");
      assert.equal(r.stdout.trim(), w.sso.issued[1].accessKeyId);
      // sha1("corp")
      const path = `${w.home.dir}/.aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json`;
      const cache = JSON.parse(await Deno.readTextFile(path));
      assert.deepEqual(Object.keys(cache), [
        "startUrl",
        "region",
        "accessToken",
        "expiresAt",
        "clientId",
        "clientSecret",
        "registrationExpiresAt",
        "refreshToken",
      ]);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(`${w.home.dir}/.aws/sso/cache`)).mode! & 0o777, 0o700);
      // Without --profile-env or --sso-sync nothing is written in plaintext.
      await Deno.remove(path);
      assert.equal((await w.run(["export", "--format=json", "ops"])).code, 0);
      await assert.rejects(Deno.stat(path));
      const sync = await w.run(["export", "--format=json", "--sso-sync", "ops"]);
      assert.equal(sync.code, 0, sync.stderr);
      await Deno.stat(path);
    });
  },
);

Deno.test("SSO: --debug shows the steps but no token, secret or passphrase; the browser gets no passphrase", async () => {
  await world(async (w) => {
    const r = await w.run(["--debug", "export", "--format=json", "legacy"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /debug: calling sso-oidc:RegisterClient/);
    assert.match(r.stderr, /debug: calling sso:GetRoleCredentials/);
    const c = w.sso.issued[0];
    for (
      const secret of [
        "access-token-",
        "refresh-token-",
        "client-secret-",
        c.secretAccessKey,
        c.sessionToken,
        "test-passphrase",
      ]
    ) {
      assert.ok(!r.stderr.includes(secret), `stderr shows ${secret}`);
    }
    const visits = await browserVisits(w.log);
    assert.equal(visits.length, 1);
    assert.doesNotMatch(visits[0], /PASSPHRASE-LEAKED/);
  });
});

Deno.test("SSO: exec gives the role credentials to the AWS CLI v2, which STS accepts", {
  ignore: noCliV2,
}, async () => {
  await requirePeers(CLI_V2);
  const sts = new TestSts();
  try {
    await world(async (w) => {
      w.sso.onIssue = (c) =>
        sts.acceptSessionKey(c, `arn:aws:sts::${c.accountId}:assumed-role/${c.roleName}/jane`);
      const r = await w.run([
        "exec",
        "dev",
        "--",
        AWS_CLI_V2,
        "sts",
        "get-caller-identity",
        "--endpoint-url",
        sts.url,
        "--output",
        "json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).Arn, "arn:aws:sts::111111111111:assumed-role/Dev/jane");
      assert.equal(sts.callsOf("GetCallerIdentity")[0].accessKeyId, w.sso.issued[0].accessKeyId);
    });
  } finally {
    await sts.close();
  }
});
