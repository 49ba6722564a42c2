/**
 * IAM Identity Center end to end through the CLI: the local SSO portal + OIDC test server, the
 * stand-in browser on PATH as `xdg-open`, the file backend. Sign-in once, reuse within the
 * token's life, refresh without the browser, single flight across 16 processes, and the
 * faults of the issue (denied, revoked refresh token, 401, missing sso_region).
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { browserVisits, installStandInBrowser } from "../support/browser.ts";
import { TestSso } from "../support/test_sso.ts";
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

Deno.test("SSO: 16 parallel export --format=json open the browser once and share one sign-in", async () => {
  await world(async (w) => {
    const runs = await Promise.all(
      Array.from({ length: 16 }, () => w.run(["export", "--format=json", "dev"])),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal(new Set(runs.map((r) => creds(r.stdout).AccessKeyId)).size, 1);
    assert.equal((await browserVisits(w.log)).length, 1);
    assert.equal(w.sso.callsOf("RegisterClient").length, 1);
    assert.equal(w.sso.callsOf("CreateToken").length, 1);
    assert.equal(w.sso.callsOf("GetRoleCredentials").length, 1);
  });
});
