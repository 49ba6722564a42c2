/**
 * The vault passphrase prompt on a real terminal (issue 14 item 11): Ctrl-C ends the command at
 * once with 130; a typo says "wrong passphrase" and asks again (three tries, as sudo does), and a
 * valid cached session is still used afterwards (no STS call, no MFA prompt).
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { UserError } from "../../lib/errors.ts";
import { CredentialStore, SessionStore } from "../../lib/store/mod.ts";
import { ignoreWithout } from "../support/peers.ts";
import { PTY, runOnPty } from "../support/pty.ts";

const noPty = await ignoreWithout(PTY);

const PASS = "right passphrase";
const PROMPT = "Enter passphrase to unlock";

async function vaultWithSession(): Promise<{ home: string; env: Record<string, string> }> {
  const home = await Deno.makeTempDir({ prefix: "passphrase-e2e-" });
  await Deno.writeTextFile(`${home}/config`, "[profile work]\nregion = eu-west-1\n");
  const terminal = { readLine: () => Promise.reject(new UserError("no terminal")) };
  const keyring = new FileKeyring(`${home}/keys`, { passphrase: PASS, terminal });
  await new CredentialStore(keyring).set("work", {
    accessKeyId: "AKIAPROMPTTEST",
    secretAccessKey: "s",
  });
  await new SessionStore(keyring, () => new Date()).set(
    { type: "sts.GetSessionToken", profileName: "work", mfaSerial: "" },
    {
      accessKeyId: "ASIACACHEDSESSION",
      secretAccessKey: "s",
      sessionToken: "t",
      expiration: new Date(Date.now() + 3600_000),
    },
  );
  return {
    home,
    env: {
      HOME: home,
      AWS_CONFIG_FILE: `${home}/config`,
      AWS_VAULT_BACKEND: "file",
      AWS_VAULT_FILE_DIR: `${home}/keys`,
      // Any STS call fails at once: the cached session must serve.
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
    },
  };
}

const count = (text: string, part: string) => text.split(part).length - 1;

Deno.test("item 11: Ctrl-C at the passphrase prompt ends the command at once with 130", {
  ignore: noPty,
}, async () => {
  const { home, env } = await vaultWithSession();
  try {
    const r = await runOnPty(["exec", "work", "--", "sh", "-c", "echo CHILD RAN"], {
      env,
      steps: [[PROMPT, "\x03"]],
    });
    assert.equal(r.code, 130, r.output);
    assert.equal(count(r.output, PROMPT), 1, r.output);
    assert.doesNotMatch(r.output, /CHILD RAN|MFA/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("item 11: a typo says wrong passphrase, asks again, and the cached session is used", {
  ignore: noPty,
}, async () => {
  const { home, env } = await vaultWithSession();
  try {
    const r = await runOnPty(["exec", "work", "--", "sh", "-c", 'echo "KEY=$AWS_ACCESS_KEY_ID"'], {
      env,
      steps: [[PROMPT, "typo\r"], [PROMPT, `${PASS}\r`]],
    });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /wrong passphrase, try again/);
    assert.match(r.output, /KEY=ASIACACHEDSESSION/);
    assert.equal(count(r.output, PROMPT), 2, r.output);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("item 11: three wrong passphrases fail with one line, and nothing changes", {
  ignore: noPty,
}, async () => {
  const { home, env } = await vaultWithSession();
  try {
    const before = (await Array.fromAsync(Deno.readDir(`${home}/keys`), (e) => e.name)).sort();
    const r = await runOnPty(["exec", "work", "--", "true"], {
      env,
      steps: [[PROMPT, "a\r"], [PROMPT, "b\r"], [PROMPT, "c\r"]],
    });
    assert.equal(r.code, 1, r.output);
    assert.equal(count(r.output, PROMPT), 3, r.output);
    assert.match(r.output, /aws-vault: error: wrong passphrase for vault/);
    const after = (await Array.fromAsync(Deno.readDir(`${home}/keys`), (e) => e.name)).sort();
    assert.deepEqual(after, before);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
