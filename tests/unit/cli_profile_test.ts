/** `aws-vault profile` in-process: keyring states (yes, no, unknown) and credential sources. */
import assert from "node:assert/strict";
import type { Keyring } from "../../backends/keyring.ts";
import type { CommandContext } from "../../lib/cli/global.ts";
import { SILENT_LOGGER } from "../../lib/logger.ts";
import { profileCommand } from "../../lib/cli/profile.ts";
import type { InputOf } from "../../lib/cli/spec.ts";
import type { PROFILE } from "../../lib/cli/table.ts";
import { KeyringError } from "../../backends/keyring.ts";
import { UserError } from "../../lib/errors.ts";
import { type TestRuntime, testRuntime } from "../support/runtime.ts";

const CONFIG = `[sso-session corp]
sso_start_url = https://corp.awsapps.com/start#/
sso_region = eu-west-1

[profile sso]
sso_session = corp
sso_account_id = 333333333333
sso_role_name = Dev

[profile deploy]
source_profile = sso
role_arn = arn:aws:iam::333333333333:role/Deploy
`;

/** A keyring that only answers keys(); or one that cannot be opened. */
function keyringWith(keys: string[] | "locked"): () => Promise<Keyring> {
  if (keys === "locked") {
    return () => Promise.reject(new KeyringError("passphrase needed and no terminal"));
  }
  return () => Promise.resolve({ keys: () => Promise.resolve(keys) } as Keyring);
}

async function run(
  name: string,
  keys: string[] | "locked",
  opts: Partial<InputOf<typeof PROFILE>["options"]> = {},
): Promise<TestRuntime> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config`, CONFIG);
    const runtime = testRuntime({ env: { AWS_CONFIG_FILE: `${dir}/config` }, home: dir });
    const ctx = {
      runtime,
      options: {},
      log: SILENT_LOGGER,
      keyring: keyringWith(keys),
    } as unknown as CommandContext;
    const options = {
      json: false,
      noSession: false,
      duration: undefined,
      region: undefined,
      ...opts,
    };
    assert.equal(await profileCommand(ctx, { args: { profile: name }, options }), 0);
    return runtime;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("profile: a keyring that cannot be opened shows 'unknown', never fails", async () => {
  const rt = await run("deploy", "locked");
  assert.match(rt.out.join(""), /Source chain: deploy -> sso \(stored credentials: unknown\)/);
});

Deno.test("profile: the chain ends in SSO when nothing is stored", async () => {
  const rt = await run("deploy", []);
  const out = rt.out.join("");
  assert.match(
    out,
    /Source chain: deploy -> sso \(stored credentials: no; credentials from SSO https:\/\/corp\.awsapps\.com\/start#\/\)/,
  );
  assert.match(
    out,
    /sso_start_url\s+https:\/\/corp\.awsapps\.com\/start#\/\s+from \[sso-session corp\] line 2/,
  );
});

Deno.test("profile: stored keys on a profile with source_profile end the chain there", async () => {
  const rt = await run("deploy", ["deploy"]);
  assert.match(rt.out.join(""), /Source chain: deploy \(stored credentials: yes\)\n/);
});

Deno.test("profile --no-session says GetSessionToken is skipped", async () => {
  const rt = await run("deploy", [], { noSession: true });
  const out = rt.out.join("");
  assert.doesNotMatch(out, /GetSessionToken \d/);
  assert.match(out, /GetSessionToken: skipped \(--no-session\)/);
});

Deno.test("profile: unknown name is an error when the keyring cannot tell either", async () => {
  await assert.rejects(
    run("ghost", "locked"),
    (err: unknown) =>
      err instanceof UserError && /^profile 'ghost' not found in /.test(err.message),
  );
});
