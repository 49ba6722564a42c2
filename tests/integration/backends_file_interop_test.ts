/**
 * The file backend against independent JWE implementations (Python joserfc and jwcrypto): each
 * decrypts what we write, and we read what each writes in aws-vault's format.
 */
import assert from "node:assert/strict";
import { encryptItem } from "../../backends/file.ts";
import { newItem } from "../../backends/keyring.ts";
import { keyringIn, PASS, segment, withDir } from "../support/file_vault.ts";
import { ignoreWithout } from "../support/peers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const PEER = new URL("../support/jwe_peer.py", import.meta.url).pathname;

// ---- interop with independent JWE implementations ----

const PEERS = [
  { lib: "joserfc", python: "python3" },
  { lib: "jwcrypto", python: "/usr/bin/python3" },
];

async function runPeer(
  python: string,
  args: string[],
  stdin = "",
): Promise<{ out: string; err: string }> {
  const child = new Deno.Command(python, {
    args: [PEER, ...args],
    env: { AWS_VAULT_FILE_PASSPHRASE: PASS },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(enc.encode(stdin));
  await w.close();
  const res = await child.output();
  const out = dec.decode(res.stdout);
  const err = dec.decode(res.stderr);
  if (!res.success) throw new Error(`jwe peer failed: ${err}`);
  return { out, err };
}

for (const peer of PEERS) {
  const ignore = await ignoreWithout({
    name: `python ${peer.lib}`,
    probe: async () => {
      const probe = await new Deno.Command(peer.python, {
        args: ["-c", `import ${peer.lib}`],
        stdout: "null",
        stderr: "null",
      }).output().catch(() => undefined);
      return probe?.success ? undefined : `${peer.python} cannot import ${peer.lib}`;
    },
  });

  Deno.test(
    `interop: ${peer.lib} decrypts our items to aws-vault's exact payload`,
    { ignore },
    async () => {
      await withDir(async (dir) => {
        const { keyring } = keyringIn(dir);
        const data = '{"AccessKeyID":"AKIAEXAMPLE","SecretAccessKey":"s3cr3t<&>"}';
        await keyring.set(
          newItem({
            key: "oidc:https://x/start",
            data: enc.encode(data),
            label: "aws-vault (a<b)",
            keychainNotTrustApplication: true,
          }),
        );
        const { out, err } = await runPeer(peer.python, [
          peer.lib,
          "decrypt",
          `${dir}/oidc:https:%2F%2Fx%2Fstart`,
        ]);
        assert.equal(
          out,
          `{"Key":"oidc:https://x/start","Data":"${
            btoa(data)
          }","Label":"aws-vault (a\\u003cb)","Description":"","KeychainNotTrustApplication":true,"KeychainNotSynchronizable":false}`,
        );
        assert.match(
          err,
          /^\{"alg":"PBES2-HS256\+A128KW","created":"[^"]+","enc":"A256GCM","p2c":8192,"p2s":"[A-Za-z0-9_-]{16}"\}$/,
        );
      });
    },
  );

  Deno.test(
    `interop: files ${peer.lib} writes in aws-vault's format are read by us`,
    { ignore },
    async () => {
      await withDir(async (dir) => {
        await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
        const data = '{"AccessKeyID":"AKIAPEER","SecretAccessKey":"peer-secret"}';
        const payload = `{"Key":"team/prod","Data":"${
          btoa(data)
        }","Label":"aws-vault (team/prod)","Description":"","KeychainNotTrustApplication":true,"KeychainNotSynchronizable":false}`;
        const created = "2024-01-02 03:04:05.123456789 +0000 UTC m=+0.012345678";
        const { out: header } = await runPeer(peer.python, [
          peer.lib,
          "encrypt",
          `${dir}/team%2Fprod`,
          created,
        ], payload);
        assert.match(
          header,
          /^\{"alg":"PBES2-HS256\+A128KW","created":"[^"]+","enc":"A256GCM","p2c":8192,"p2s":"[A-Za-z0-9_-]{16}"\}$/,
        );
        const { keyring } = keyringIn(dir);
        assert.deepEqual(await keyring.keys(), ["team/prod"]);
        const item = (await keyring.get("team/prod"))!;
        assert.equal(dec.decode(item.data), data);
        assert.equal(item.label, "aws-vault (team/prod)");
        assert.equal(item.keychainNotTrustApplication, true);
        // and our next write to that vault is accepted by the peer's passphrase check
        await keyring.set(newItem({ key: "next", data: enc.encode("n") }));
        const jwe = await encryptItem(
          newItem({ key: "z", data: enc.encode("z") }),
          PASS,
          new Date(0),
        );
        assert.equal(
          dec.decode(segment(jwe, 0)).includes('"created":"1970-01-01 00:00:00 +0000 UTC"'),
          true,
        );
      });
    },
  );
}
