/** Faults around cached sessions (issue 14 item 6): a session that cannot be stored. */
import assert from "node:assert/strict";
import { CachedSessionProvider } from "../../lib/vault/cached_session.ts";
import { processLocker, type SessionKey } from "../../lib/vault/session_cache.ts";
import { KeyringError } from "../../backends/keyring.ts";
import { SessionStore } from "../../lib/store/mod.ts";
import { MemorySessions } from "../support/memory_vault.ts";
import { openPassKeyring } from "../../backends/pass.ts";

Deno.test("item 6: a session the keyring cannot store fails before the STS call (no MFA code burnt)", async () => {
  let calls = 0;
  const inner = {
    retrieve: () => {
      calls++;
      return Promise.resolve({
        accessKeyId: "ASIA",
        secretAccessKey: "s",
        sessionToken: "t",
        expiration: new Date(Date.now() + 3600e3),
      });
    },
  };
  class Unstorable extends MemorySessions {
    check(key: SessionKey): void {
      if (key.profileName.length > 100) throw new KeyringError("key too long for this keyring");
    }
  }
  const provider = new CachedSessionProvider({
    inner,
    cache: new Unstorable(),
    key: { type: "sts.GetSessionToken", profileName: "x".repeat(200), mfaSerial: "arn:m" },
    minRemainingMs: 0,
    lock: processLocker(),
    now: () => new Date(),
  });
  await assert.rejects(() => provider.retrieve(), /too long/);
  assert.equal(calls, 0);
});

Deno.test("item 6: the session store asks the pass backend, whose entry names stop at NAME_MAX", () => {
  const pass = openPassKeyring({ storeDir: "/nonexistent-store" });
  const store = new SessionStore(pass, () => new Date());
  store.check({
    type: "sts.GetSessionToken",
    profileName: "work",
    mfaSerial: "arn:aws:iam::1:mfa/me",
  });
  assert.throws(
    () =>
      store.check({
        type: "sts.GetSessionToken",
        profileName: "p".repeat(150),
        mfaSerial: "arn:aws:iam::1:mfa/me",
      }),
    (e: Error) => e instanceof KeyringError && /too long/.test(e.message),
  );
});
