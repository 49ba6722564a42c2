/**
 * The provider factory over services built once: the source of each profile's credentials,
 * fresh credentials per retrieve from one provider, one keyring for the whole command, and
 * serverMode reaching prompt selection.
 */
import assert from "node:assert/strict";
import type { StsClientFactory } from "../../lib/aws/sts_client.ts";
import type { Credentials } from "../../lib/credentials.ts";
import { SILENT_LOGGER } from "../../lib/logger.ts";
import { CredentialStore } from "../../lib/store/credentials.ts";
import { credentialsForProfile, providerForProfile } from "../../lib/vault/for_profile.ts";
import { buildServices, type ServiceOptions } from "../../lib/vault/services.ts";
import { keyringIn } from "../support/file_vault.ts";
import { testRuntime } from "../support/runtime.ts";

const CONFIG = `[profile keys]
[profile session]
mfa_serial = arn:aws:iam::111111111111:mfa/jon
[profile role]
source_profile = keys
role_arn = arn:aws:iam::111111111111:role/r
`;

const OPTIONS: ServiceOptions = {
  keychain: "aws-vault",
  secretServiceCollection: "awsvault",
  fileDir: "~/.awsvault/keys",
  keyctlScope: "user",
};

/** An STS double: every call returns new temporary credentials and is counted. */
function countingSts(): { factory: StsClientFactory; calls: string[] } {
  const calls: string[] = [];
  const issue = (call: string): Promise<Credentials> => {
    calls.push(call);
    return Promise.resolve({
      accessKeyId: `ASIA${call.toUpperCase()}${calls.length}`,
      secretAccessKey: "temporary",
      sessionToken: `token-${calls.length}`,
      expiration: new Date("2026-01-02T15:00:00Z"),
    });
  };
  return {
    calls,
    factory: () => ({
      getSessionToken: () => issue("gst"),
      assumeRole: () => issue("role"),
      getCallerIdentity: () => Promise.reject(new Error("not used")),
      getFederationToken: () => issue("federation"),
    }),
  };
}

async function withServices(
  fn: (s: {
    services: ReturnType<typeof buildServices>;
    calls: string[];
    opened: () => number;
  }) => Promise<void>,
  options: Partial<ServiceOptions> = {},
  env: Record<string, string> = {},
): Promise<void> {
  const home = await Deno.makeTempDir({ prefix: "for-profile-" });
  try {
    await Deno.writeTextFile(`${home}/config`, CONFIG);
    const runtime = testRuntime({
      home,
      env: { AWS_CONFIG_FILE: `${home}/config`, ...env },
      stdoutIsTerminal: true,
    });
    const { keyring } = keyringIn(`${home}/keys`);
    await new CredentialStore(keyring).set("keys", {
      accessKeyId: "AKIAKEYS",
      secretAccessKey: "s",
    });
    await new CredentialStore(keyring).set("session", {
      accessKeyId: "AKIASESSION",
      secretAccessKey: "s",
    });
    let opens = 0;
    const sts = countingSts();
    const services = buildServices(runtime, { ...OPTIONS, ...options }, SILENT_LOGGER, {
      sts: sts.factory,
      keyring: () => {
        opens++;
        return Promise.resolve(keyring);
      },
    });
    await fn({ services, calls: sts.calls, opened: () => opens });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("the factory says where credentials come from: keys, session or role", async () => {
  await withServices(async ({ services, opened }) => {
    const flags = { mfaToken: "123456" };
    const keys = await credentialsForProfile(services, {
      profileName: "keys",
      flags: {},
      noSession: true,
    });
    assert.equal(keys.source, "long-term keys");
    assert.equal(keys.credentials.accessKeyId, "AKIAKEYS");
    assert.equal(keys.credentials.sessionToken, undefined);
    const session = await providerForProfile(services, { profileName: "session", flags });
    assert.equal(session.source, "session");
    const role = await providerForProfile(services, { profileName: "role", flags: {} });
    assert.equal(role.source, "role");
    assert.equal(role.profile.roleArn, "arn:aws:iam::111111111111:role/r");
    assert.equal(opened(), 1, "one keyring for the whole command");
  });
});

Deno.test("one provider hands out fresh credentials on every retrieve (a server's use)", async () => {
  await withServices(async ({ services, calls }) => {
    const { provider } = await providerForProfile(services, { profileName: "role", flags: {} });
    const first = await provider.retrieve();
    const second = await provider.retrieve();
    assert.equal(calls.filter((c) => c === "role").length, 2);
    assert.notEqual(first.accessKeyId, second.accessKeyId);
  });
});

Deno.test("serverMode reaches prompt selection: no terminal prompt nobody watches", async () => {
  const bin = await Deno.makeTempDir({ prefix: "for-profile-bin-" });
  try {
    // A zenity stand-in that answers with a code: chosen only because serverMode skips the
    // terminal although stdout is one.
    await Deno.writeTextFile(`${bin}/zenity`, "#!/bin/sh\necho 654321\n", { mode: 0o755 });
    for (const serverMode of [false, true]) {
      await withServices(
        async ({ services }) => {
          const asked = services.mfa.code({ serial: "arn:aws:iam::111111111111:mfa/jon" });
          if (serverMode) {
            assert.equal(await asked, "654321");
          } else {
            await assert.rejects(asked, /no terminal/);
          }
        },
        { serverMode },
        { PATH: bin },
      );
    }
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});

Deno.test("a name with no section and no stored keys is refused, not resolved from [default]", async () => {
  const dir = await Deno.makeTempDir({ prefix: "for-profile-typo-" });
  try {
    const config = `${dir}/config`;
    await Deno.writeTextFile(
      config,
      "[default]\nrole_arn = arn:aws:iam::111111111111:role/default-admin\n[profile keys]\n",
    );
    await withServices(
      async ({ services, calls }) => {
        for (const typo of ["typo", "Keys", "keys ", "profile keys"]) {
          await assert.rejects(
            providerForProfile(services, { profileName: typo, flags: {} }),
            (err: Error) =>
              err.message ===
                `profile '${typo}' not found in ${config} and no stored credentials exist for it`,
          );
        }
        // Stored keys without a section are a profile (added with --no-add-config).
        const stored = await providerForProfile(services, { profileName: "session", flags: {} });
        assert.equal(stored.profile.roleArn, "arn:aws:iam::111111111111:role/default-admin");
        // A section is a profile even without keys.
        await providerForProfile(services, { profileName: "keys", flags: {} });
        assert.deepEqual(calls, []);
      },
      {},
      { AWS_CONFIG_FILE: config },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
