/**
 * `exec --ec2-server` on the real metadata address, 169.254.169.254:80, inside network
 * namespaces the test creates: SDKs find it with no endpoint setting, a peer on another
 * address is refused, and without the address `aws-vault proxy` (started directly as root;
 * through sudo otherwise) sets it up, forwards, and removes it when the child exits.
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { NETNS, netnsPair } from "../support/netns.ts";
import { commandPeer, ignoreWithout, requirePeers } from "../support/peers.ts";
import { TestSts } from "../support/test_sts.ts";
import { vaultHome } from "../support/vault_home.ts";

const JON = {
  name: "jonsmith",
  accessKeyId: "AKIATESTJONSMITH0001",
  secretAccessKey: "jon-secret-key-0000000000000000000000000",
};
const JS_CLIENT = new URL("../support/js_sdk_client.ts", import.meta.url).pathname;
const BOTO3_KEY =
  "import botocore.session; print(botocore.session.get_session().get_credentials().access_key)";
const CREDS_URL =
  "http://169.254.169.254/latest/meta-data/iam/security-credentials/local-credentials";

/** A vault whose session is cached (no STS is reachable inside the namespace). */
async function cachedVault() {
  const sts = new TestSts([JON]);
  const home = await vaultHome("[profile jonsmith]\nregion = eu-west-1\n");
  await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
  const warm = await runCli(
    ["exec", "jonsmith", "--", "/bin/sh", "-c", "echo $AWS_ACCESS_KEY_ID"],
    {
      env: { ...home.env, AWS_ENDPOINT_URL: sts.url },
    },
  );
  assert.equal(warm.code, 0, warm.stderr);
  await sts.close();
  const env = {
    ...home.env,
    AWS_SHARED_CREDENTIALS_FILE: `${home.dir}/none`,
    PYENV_ROOT: Deno.env.get("PYENV_ROOT") ?? `${Deno.env.get("HOME")}/.pyenv`,
  };
  return { home, env, sessionKey: warm.stdout.trim() };
}

const PEERS = [
  NETNS,
  commandPeer("curl", "curl", ["--version"]),
  commandPeer("boto3", "python3", ["-c", "import boto3"]),
];
const noPeers = await ignoreWithout(...PEERS);

Deno.test({
  name: "exec --ec2-server on 169.254.169.254:80: SDK defaults work, other hosts are refused",
  ignore: noPeers,
  fn: async () => {
    await requirePeers(...PEERS);
    const net = await netnsPair();
    const { home, env, sessionKey } = await cachedVault();
    try {
      await net.ipIn(net.server, ["addr", "add", "169.254.169.254/32", "dev", "lo"]);
      const script = [
        `python3 -c '${BOTO3_KEY}' | sed 's/^/BOTO3=/'`,
        `${Deno.execPath()} run -A --quiet ${JS_CLIENT} instance-key | sed 's/^/JS=/'`,
        `curl -s -o /dev/null -w 'EVILHOST=%{http_code}\\n' -H 'Host: evil.example' ${CREDS_URL}`,
        `ip netns exec ${net.peer} curl -s -w ' PEER=%{http_code}\\n' -H 'Host: 169.254.169.254' ${CREDS_URL}`,
      ].join("\n");
      const r = await runCli([
        "exec",
        "--debug",
        "--ec2-server",
        "jonsmith",
        "--",
        "/bin/sh",
        "-c",
        script,
      ], {
        env,
        wrapper: ["ip", "netns", "exec", net.server],
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^BOTO3=${sessionKey}$`, "m"));
      assert.match(r.stdout, new RegExp(`^JS=${sessionKey}$`, "m"));
      assert.match(r.stdout, /^EVILHOST=401$/m);
      assert.match(r.stdout, /Access denied from non-localhost address PEER=401/);
      assert.ok(!r.stdout.includes("SecretAccessKey"), "no credentials reached the peer");
      assert.match(r.stderr, /Starting a local EC2 credential server on 169\.254\.169\.254:80/);
      // The server is gone with the child.
      const after = await runCli(["exec", "--ec2-server", "jonsmith", "--", "true"], {
        env,
        wrapper: ["ip", "netns", "exec", net.server],
      });
      assert.equal(after.code, 0, after.stderr);
    } finally {
      await home.cleanup();
      await net.cleanup();
    }
  },
});

Deno.test({
  name: "exec --ec2-server without the address: the proxy sets it up and removes it",
  ignore: noPeers,
  fn: async () => {
    await requirePeers(...PEERS);
    const net = await netnsPair();
    const { home, env, sessionKey } = await cachedVault();
    try {
      const script = [
        `python3 -c '${BOTO3_KEY}' | sed 's/^/BOTO3=/'`,
        "ip addr show dev lo | grep -c 169.254.169.254 | sed 's/^/ALIAS=/'",
      ].join("\n");
      const r = await runCli([
        "exec",
        "--debug",
        "--ec2-server",
        "jonsmith",
        "--",
        "/bin/sh",
        "-c",
        script,
      ], {
        env,
        wrapper: ["ip", "netns", "exec", net.server],
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^BOTO3=${sessionKey}$`, "m"));
      assert.match(r.stdout, /^ALIAS=1$/m);
      // The proxy removed the address and stopped (give it the moment its /stop reply takes).
      let alias = "";
      for (let i = 0; i < 50; i++) {
        const out = await new Deno.Command("ip", {
          args: ["-n", net.server, "addr", "show", "dev", "lo"],
          stdout: "piped",
        }).output();
        alias = new TextDecoder().decode(out.stdout);
        if (!alias.includes("169.254.169.254")) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      assert.ok(!alias.includes("169.254.169.254"), "the proxy left the address behind");
    } finally {
      await home.cleanup();
      await net.cleanup();
    }
  },
});

Deno.test({
  name: "proxy --stop with no proxy running: one line, exit 1",
  ignore: noPeers,
  fn: async () => {
    await requirePeers(...PEERS);
    const net = await netnsPair();
    const home = await vaultHome("");
    try {
      const wrapper = ["ip", "netns", "exec", net.server];
      const stop = await runCli(["proxy", "--stop"], { env: home.env, wrapper });
      assert.equal(stop.code, 1);
      assert.equal(stop.stderr, "aws-vault: error: no proxy answers on 169.254.169.254:80\n");
    } finally {
      await home.cleanup();
      await net.cleanup();
    }
  },
});
