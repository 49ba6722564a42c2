/** Loading the config file: its path, a missing file, sections aws-vault reads or ignores. */
import assert from "node:assert/strict";
import { configFilePath, loadConfig, parseConfig } from "../../lib/config/mod.ts";
import { UserError } from "../../lib/errors.ts";
import { testRuntime } from "../support/runtime.ts";

Deno.test("configFilePath: AWS_CONFIG_FILE, ~/ expansion, else <home>/.aws/config", () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{}, "/home/u/.aws/config"],
    [{ AWS_CONFIG_FILE: "/etc/aws.cfg" }, "/etc/aws.cfg"],
    [{ AWS_CONFIG_FILE: "~/work/config" }, "/home/u/work/config"],
    [{ AWS_CONFIG_FILE: "" }, "/home/u/.aws/config"],
  ];
  for (const [env, want] of cases) {
    assert.equal(configFilePath(testRuntime({ env, home: "/home/u" })), want);
  }
});

Deno.test("loadConfig: a missing file is an empty config and is not created", async () => {
  const home = await Deno.makeTempDir();
  try {
    const config = await loadConfig(testRuntime({ home }));
    assert.equal(config.path, `${home}/.aws/config`);
    assert.deepEqual(config.profileNames(), []);
    assert.equal(config.hasProfile("default"), false);
    await assert.rejects(Deno.stat(`${home}/.aws`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("loadConfig: a malformed file fails with one line naming file:line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, "[default]\nregion = x\n\noops\n");
    await assert.rejects(
      loadConfig(testRuntime({ env: { AWS_CONFIG_FILE: path } })),
      (err: unknown) =>
        err instanceof UserError &&
        err.message === `${path}:4: expected "key = value" or "[section]"`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const TEXT = `[default]

[profile b]
region = x
[sso-session corp]
sso_start_url = https://s/start
[profile default]
region = ignored
[plain]
region = ignored
[profile   a]
Role_Arn = R
s3 =
  max_concurrent_requests = 2
`;

Deno.test("profileNames: file order, empty [default] hidden, only [profile x] sections", () => {
  const config = parseConfig(TEXT, "/cfg");
  assert.deepEqual(config.profileNames(), ["b", "a"]);
  assert.equal(config.hasProfile("default"), true);
  assert.deepEqual(config.profileSection("default"), {});
  assert.equal(config.hasProfile("plain"), false);
  assert.equal(config.profileSection("plain"), undefined);
});

Deno.test("profileSection: raw lowercased keys with nested keys; sso-session sections", () => {
  const config = parseConfig(TEXT, "/cfg");
  assert.deepEqual(config.profileSection("a"), {
    role_arn: "R",
    s3: "",
    "s3.max_concurrent_requests": "2",
  });
  assert.deepEqual(config.ssoSessionSection("corp"), { sso_start_url: "https://s/start" });
  assert.equal(config.ssoSessionSection("b"), undefined);
  assert.equal(config.lineOf?.("profile a", "role_arn"), 12);
  assert.equal(config.lineOf?.("profile a"), 11);
});

Deno.test("a non-empty [default] is listed first in file order", () => {
  const config = parseConfig("[profile z]\n[default]\nregion = x\n", "/cfg");
  assert.deepEqual(config.profileNames(), ["z", "default"]);
});
