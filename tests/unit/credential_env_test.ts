/** The child environment of `exec` and the formats of `export`. */
import assert from "node:assert/strict";
import {
  childEnvironment,
  credentialProcessJson,
  formatExport,
} from "../../lib/exec/credential_env.ts";

const SESSION = {
  accessKeyId: "ASIAEXAMPLE",
  secretAccessKey: "secret/with+chars",
  sessionToken: "token=",
  expiration: new Date("2026-01-02T03:04:05.678Z"),
};

Deno.test("credential variables replace inherited ones; region and AWS_VAULT are set", () => {
  const env = childEnvironment(
    {
      AWS_PROFILE: "x",
      AWS_SESSION_TOKEN: "old",
      AWS_DEFAULT_PROFILE: "y",
      HOME: "/h",
      AWS_VAULT_FILE_PASSPHRASE: "vault passphrase",
      AWS_VAULT_OP_SERVICE_ACCOUNT_TOKEN: "ops_token_for_op_only",
      AWS_VAULT_OP_CONNECT_TOKEN: "connect token",
    },
    { profileName: "p", region: "eu-west-1", credentials: SESSION },
  );
  assert.deepEqual(env, {
    HOME: "/h",
    AWS_VAULT: "p",
    AWS_REGION: "eu-west-1",
    AWS_DEFAULT_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "ASIAEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "secret/with+chars",
    AWS_SESSION_TOKEN: "token=",
    AWS_CREDENTIAL_EXPIRATION: "2026-01-02T03:04:05Z",
  });
});

Deno.test("--profile-env sets AWS_PROFILE and no credential variables", () => {
  const env = childEnvironment({ AWS_ACCESS_KEY_ID: "AKIAOLD" }, {
    profileName: "p",
    credentials: SESSION,
    profileEnv: true,
    endpointUrl: "http://127.0.0.1:1",
  });
  assert.deepEqual(env, {
    AWS_VAULT: "p",
    AWS_PROFILE: "p",
    AWS_ENDPOINT_URL: "http://127.0.0.1:1",
  });
});

Deno.test("credential_process JSON: key order, no token or expiry for long-term keys", () => {
  assert.equal(
    credentialProcessJson(SESSION),
    `{\n  "Version": 1,\n  "AccessKeyId": "ASIAEXAMPLE",\n  "SecretAccessKey": "secret/with+chars",\n  "SessionToken": "token=",\n  "Expiration": "2026-01-02T03:04:05Z"\n}\n`,
  );
  assert.deepEqual(
    Object.keys(JSON.parse(credentialProcessJson({ accessKeyId: "A", secretAccessKey: "S" }))),
    ["Version", "AccessKeyId", "SecretAccessKey"],
  );
});

Deno.test("fish and powershell values are quoted so shells read them back verbatim", () => {
  const tricky = { accessKeyId: "A", secretAccessKey: "it's\\x" };
  assert.equal(
    formatExport("fish", tricky, { profileName: "p" }),
    "set -gx AWS_ACCESS_KEY_ID 'A';\nset -gx AWS_SECRET_ACCESS_KEY 'it\\'s\\\\x';\n",
  );
  assert.equal(
    formatExport("powershell", tricky, { profileName: "p" }),
    "$env:AWS_ACCESS_KEY_ID = 'A'\n$env:AWS_SECRET_ACCESS_KEY = 'it''s\\x'\n",
  );
});
