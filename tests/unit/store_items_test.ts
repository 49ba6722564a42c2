/** lib/store: aws-vault's item formats for credentials, sessions and OIDC tokens, over the file backend. */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { newItem } from "../../backends/keyring.ts";
import {
  CredentialStore,
  formatSessionKey,
  isLegacySessionKey,
  OidcTokenStore,
  parseSessionKey,
  SessionStore,
} from "../../lib/store/mod.ts";
import { UserError } from "../../lib/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const NOW = new Date("2026-01-02T03:04:05Z");

async function withKeyring(fn: (k: FileKeyring) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "store-" });
  const terminal = { readLine: () => Promise.reject(new UserError("no terminal")) };
  try {
    await fn(new FileKeyring(`${root}/keys`, { passphrase: "pw", terminal }));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("session keys use aws-vault's format and parse back", () => {
  const key = {
    type: "sts.GetSessionToken",
    profileName: "jonsmith",
    mfaSerial: "arn:aws:iam::111111111111:mfa/jonsmith",
    expiration: new Date(1700000000_000),
  };
  const s =
    "sts.GetSessionToken,am9uc21pdGg,YXJuOmF3czppYW06OjExMTExMTExMTExMTptZmEvam9uc21pdGg,1700000000";
  assert.equal(formatSessionKey(key), s);
  assert.deepEqual(parseSessionKey(s), key);
  assert.deepEqual(parseSessionKey("credential_process,cA,,1700000000")?.mfaSerial, "");
  assert.equal(parseSessionKey("work"), undefined);
  assert.equal(parseSessionKey("oidc:https://x/start"), undefined);
  for (
    const legacy of [
      "session,am9u,,1500000000",
      "session:jon:arn:aws:iam::1:mfa/j:1500000000",
      "jon session (1500000000)",
    ]
  ) {
    assert.equal(isLegacySessionKey(legacy), true, legacy);
    assert.equal(parseSessionKey(legacy), undefined, legacy);
  }
});

Deno.test("credentials are stored as aws-vault's item and Data JSON", async () => {
  await withKeyring(async (k) => {
    const store = new CredentialStore(k);
    await store.set("work", { accessKeyId: "AKIAWORK", secretAccessKey: "s/ecret+" });
    const item = (await k.get("work"))!;
    assert.equal(item.label, "aws-vault (work)");
    assert.equal(item.keychainNotTrustApplication, true);
    assert.equal(
      dec.decode(item.data),
      '{"AccessKeyID":"AKIAWORK","SecretAccessKey":"s/ecret+","SessionToken":"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}',
    );
    // aws-vault (ByteNess) adds AccountID; Go reads field names case-insensitively.
    await k.set(
      newItem({
        key: "bn",
        data: enc.encode('{"accesskeyid":"AKIABN","SECRETACCESSKEY":"x","AccountID":""}'),
      }),
    );
    assert.deepEqual(await store.get("bn"), { accessKeyId: "AKIABN", secretAccessKey: "x" });
    await k.set(newItem({ key: "sts.AssumeRole,d29yaw,,9999999999", data: enc.encode("{}") }));
    await k.set(newItem({ key: "oidc:https://x/start", data: enc.encode("{}") }));
    assert.deepEqual(await store.names(), ["bn", "work"]);
    assert.equal(await store.has("work"), true);
    assert.equal(await store.remove("work"), true);
    assert.equal(await store.has("work"), false);
  });
});

Deno.test("sessions: set replaces the previous key, get ignores expiry in the key, old and legacy are removed", async () => {
  await withKeyring(async (k) => {
    let now = NOW;
    const store = new SessionStore(k, () => now);
    const id = { type: "sts.AssumeRole", profileName: "work", mfaSerial: "arn:aws:iam::1:mfa/me" };
    const exp1 = new Date(NOW.getTime() + 3600_000);
    await store.set(id, {
      accessKeyId: "ASIA1",
      secretAccessKey: "s1",
      sessionToken: "t1",
      expiration: exp1,
    });
    const key1 = formatSessionKey({ ...id, expiration: exp1 });
    assert.deepEqual(await k.keys(), [key1]);
    const item = (await k.get(key1))!;
    assert.equal(
      dec.decode(item.data),
      `{"AccessKeyId":"ASIA1","Expiration":"2026-01-02T04:04:05Z","SecretAccessKey":"s1","SessionToken":"t1"}`,
    );
    assert.equal(item.label, "aws-vault session for work (expires 2026-01-02T04:04:05Z)");
    assert.equal(item.description, "aws-vault session");
    assert.deepEqual(await store.get(id), {
      accessKeyId: "ASIA1",
      secretAccessKey: "s1",
      sessionToken: "t1",
      expiration: exp1,
    });
    assert.equal(
      await store.get({ ...id, mfaSerial: "" }),
      undefined,
      "the MFA serial is part of the key",
    );

    const exp2 = new Date(NOW.getTime() + 7200_000);
    await store.set(id, {
      accessKeyId: "ASIA2",
      secretAccessKey: "s2",
      sessionToken: "t2",
      expiration: exp2,
    });
    assert.deepEqual(await k.keys(), [formatSessionKey({ ...id, expiration: exp2 })]);

    // Written as sessions (their Description says so): only those are ever removed.
    const asSession = { description: "aws-vault session" };
    await k.set(
      newItem({ key: "session,d29yaw,,1500000000", data: enc.encode("{}"), ...asSession }),
    );
    await k.set(
      newItem({
        key: "sts.GetSessionToken,d29yaw,,1700000000",
        data: enc.encode("{}"),
        ...asSession,
      }),
    );
    await k.set(
      newItem({
        key: "credential_process,b3RoZXI,,9999999999",
        data: enc.encode("not json"),
        ...asSession,
      }),
    );
    assert.equal(
      await store.get({ type: "credential_process", profileName: "other", mfaSerial: "" }),
      undefined,
    );
    assert.deepEqual(
      (await k.keys()).sort(),
      [formatSessionKey({ ...id, expiration: exp2 }), "credential_process,b3RoZXI,,9999999999"]
        .sort(),
    );
    assert.equal(await store.removeForProfile("work"), 1);
    assert.deepEqual((await store.list()).map((s) => s.profileName), ["other"]);
    now = new Date(10_000_000_000_000);
    assert.equal(await store.removeOld(), 1);
    assert.deepEqual(await k.keys(), []);
  });
});

Deno.test("OIDC tokens use aws-vault's Data JSON; expired ones are deleted", async () => {
  await withKeyring(async (k) => {
    let now = NOW;
    const store = new OidcTokenStore(k, () => now);
    const url = "https://my.awsapps.com/start";
    const expiration = new Date(NOW.getTime() + 8 * 3600_000);
    await store.set(url, { accessToken: "at", expiration });
    const item = (await k.get(`oidc:${url}`))!;
    assert.equal(
      dec.decode(item.data),
      '{"Token":{"AccessToken":"at","ExpiresIn":28800,"IdToken":null,"RefreshToken":null,"TokenType":"Bearer","ResultMetadata":{}},"Expiration":"2026-01-02T11:04:05Z"}',
    );
    assert.equal(item.description, "aws-vault oidc token");
    assert.deepEqual(await store.get(url), { accessToken: "at", expiration, tokenType: "Bearer" });
    assert.deepEqual(await store.list(), [url]);
    now = new Date(expiration.getTime() + 1000);
    assert.equal(await store.get(url), undefined);
    assert.deepEqual(await k.keys(), []);
    await store.set(url, { accessToken: "at", expiration: NOW, refreshToken: "rt" });
    assert.equal(
      (await store.get(url))?.refreshToken,
      "rt",
      "expired but refreshable tokens are kept",
    );
    assert.equal(await store.remove(url), true);
  });
});

Deno.test("sessions in a keyring that keeps only Data (keyctl) are found and cleaned; credentials are not", async () => {
  await withKeyring(async (file) => {
    // What the keyctl backend does: the payload is Item.Data; label and description are lost.
    const dataOnly = {
      get: async (key: string) => {
        const item = await file.get(key);
        return item && newItem({ key, data: item.data });
      },
      set: (item: Parameters<typeof file.set>[0]) => file.set(newItem(item)),
      remove: (key: string) => file.remove(key),
      keys: () => file.keys(),
      getMetadata: (key: string) => file.getMetadata(key),
    } as unknown as FileKeyring;
    let now = NOW;
    const store = new SessionStore(dataOnly, () => now);
    const id = { type: "sts.GetSessionToken", profileName: "work", mfaSerial: "" };
    const creds = {
      accessKeyId: "ASIA1",
      secretAccessKey: "s1",
      sessionToken: "t1",
      expiration: new Date(NOW.getTime() + 3600_000),
    };
    await store.set(id, creds);
    assert.deepEqual(await store.get(id), creds);
    // A stored credential under a session-shaped name (aws-vault's own credential JSON).
    const credKey = "sts.GetSessionToken,b3RoZXI,,1000";
    await file.set(newItem({
      key: credKey,
      data: enc.encode(
        `{"AccessKeyID":"AKIA1","SecretAccessKey":"s","SessionToken":"","Source":"","CanExpire":false,"Expires":"0001-01-01T00:00:00Z"}`,
      ),
    }));
    now = new Date(NOW.getTime() + 2 * 3600_000);
    assert.equal(await store.removeOld(), 1, "the expired session goes, the credential stays");
    assert.deepEqual(await file.keys(), [credKey]);
  });
});

Deno.test("credentials a keyring does not list (pass at the store root) are found by name", async () => {
  await withKeyring(async (k) => {
    await new CredentialStore(k).set("bare", { accessKeyId: "AKIABARE", secretAccessKey: "s" });
    // A keyring that lists nothing, as pass does for root entries no config profile names.
    const unlisted = {
      name: "unlisted",
      get: (key: string) => k.get(key),
      getMetadata: (key: string) => k.getMetadata(key),
      set: (item: Parameters<FileKeyring["set"]>[0]) => k.set(item),
      remove: (key: string) => k.remove(key),
      keys: () => Promise.resolve([]),
    };
    const store = new CredentialStore(unlisted);
    assert.equal(await store.has("bare"), true);
    assert.equal(await store.has("missing"), false);
  });
});
