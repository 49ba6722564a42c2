/** The small parts of the credential servers: addresses, peers, tokens, the temporary config. */
import assert from "node:assert/strict";
import { hostNames, parseListenAddr } from "../../lib/server/ec2_server.ts";
import { constantTimeEqual, isLoopback, randomToken } from "../../lib/server/guard.ts";
import { servedConfigText, shellQuote } from "../../lib/server/profiles_config.ts";
import { credentialsFromServer } from "../../lib/server/client.ts";
import { commandPeer, ignoreWithout, requirePeers } from "../support/peers.ts";

const PYTHON = commandPeer("python3", "python3", ["--version"]);
const noPython = await ignoreWithout(PYTHON);

Deno.test("listen addresses: host:port and [v6]:port, nothing else", () => {
  assert.deepEqual(parseListenAddr("169.254.169.254:80"), {
    hostname: "169.254.169.254",
    port: 80,
  });
  assert.deepEqual(parseListenAddr("127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
  assert.deepEqual(parseListenAddr("[::1]:8080"), { hostname: "::1", port: 8080 });
  for (
    const bad of [
      "",
      "127.0.0.1",
      ":80",
      "127.0.0.1:99999",
      "127.0.0.1:-1",
      "::1:80",
      "a b:80",
      "h:80/x",
    ]
  ) {
    assert.throws(() => parseListenAddr(bad), /invalid address/, bad);
  }
  assert.deepEqual(hostNames("169.254.169.254", 80), ["169.254.169.254", "169.254.169.254:80"]);
  assert.deepEqual(hostNames("::1", 9), ["[::1]:9"]);
});

Deno.test("loopback peers: 127/8, ::1 and mapped 127/8; nothing else", () => {
  for (const h of ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1", "[::1]"]) {
    assert.ok(isLoopback(h), h);
  }
  for (
    const h of [
      "10.0.0.1",
      "169.254.169.254",
      "::ffff:10.0.0.1",
      "128.0.0.1",
      "127.0.0.1.nip.io",
      "::2",
      "",
    ]
  ) {
    assert.ok(!isLoopback(h), h);
  }
});

Deno.test("tokens: 40 url-safe characters, compared exactly", () => {
  const t = randomToken();
  assert.match(t, /^[A-Za-z0-9_-]{40}$/);
  assert.notEqual(t, randomToken());
  assert.ok(constantTimeEqual(t, t));
  for (
    const other of [
      "",
      t.slice(1),
      `${t}a`,
      t.toUpperCase() === t ? t.toLowerCase() : t.toUpperCase(),
      `${t.slice(0, 39)}\u00e9`,
    ]
  ) {
    assert.ok(!constantTimeEqual(other, t), other);
  }
});

const HOSTILE = [
  "plain",
  "default",
  "with space",
  "it's",
  'double"quote',
  "$(touch /tmp/pwned)",
  "`id`",
  "semi;colon",
  "ünïcødé",
  "back\\slash",
];

Deno.test("the temporary config: one credential_process per profile, unusable names skipped", () => {
  const text = servedConfigText(
    [
      ...HOSTILE.map((name) => ({ name, region: "eu-west-1" })),
      { name: "bad]name" },
      {
        name: "new\nline",
      },
      { name: "" },
      { name: " padded" },
      { name: "r", region: "x\ninjected = 1" },
      { name: "hash #comment" },
      { name: "#leading" },
      { name: "semi ;colon" },
    ],
    ["/opt/aws vault/bin", "run"],
  );
  assert.ok(!text.includes("bad]name") && !text.includes("injected"));
  // What the JS SDK would read as an inline comment (it cuts `(^|\s)[;#]` on every line).
  assert.ok(!/(^|\s)[;#]/.test(text.split("\n").slice(1).join("\n")), text);
  assert.match(text, /^\[default\]$/m);
  assert.match(text, /^\[profile with space\]$/m);
  assert.equal(text.match(/^credential_process = /gm)?.length, HOSTILE.length + 1);
});

Deno.test({
  name: "credential_process lines split back into the exact argv (Python shlex, /bin/sh)",
  ignore: noPython,
  fn: async () => {
    await requirePeers(PYTHON);
    const command = ["/opt/aws vault/bin", "run", "-A", "it's here"];
    const text = servedConfigText(HOSTILE.map((name) => ({ name })), command);
    const lines = [...text.matchAll(/^credential_process = (.*)$/gm)].map((m) => m[1]);
    const py = await new Deno.Command("python3", {
      args: [
        "-c",
        "import json,shlex,sys; print(json.dumps([shlex.split(l) for l in json.load(sys.stdin)]))",
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = py.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify(lines)));
    await w.close();
    const split: string[][] = JSON.parse(new TextDecoder().decode((await py.output()).stdout));
    HOSTILE.forEach((name, i) => {
      assert.deepEqual(split[i], [...command, "export", "--format=json", name]);
    });
    for (const name of HOSTILE) {
      const out = await new Deno.Command("/bin/sh", {
        args: ["-c", `printf '%s\\n' ${shellQuote(name)}`],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(out.stdout), `${name}\n`);
    }
  },
});

Deno.test("export's server client: only a loopback URL, bounded replies, retries while refreshing", async () => {
  await assert.rejects(credentialsFromServer("http://evil.example:80", "t", "p"), /127\.0\.0\.1/);
  let calls = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    calls++;
    const path = new URL(req.url).pathname;
    if (path === "/profile/huge") return new Response("x".repeat(200_000));
    if (path === "/profile/busy" && calls < 3) return new Response("{}", { status: 503 });
    if (path === "/profile/nope") {
      return Response.json({ Message: "no such profile" }, { status: 404 });
    }
    if (path === "/profile/null") return new Response("null");
    if (path === "/profile/bare") return new Response("[]", { status: 403 });
    if (path === "/profile/silent") return Response.json({}, { status: 403 });
    if (path === "/profile/badtime") {
      return Response.json({ AccessKeyId: "A", SecretAccessKey: "s", Expiration: "soon" });
    }
    return Response.json({
      AccessKeyId: "ASIAX",
      SecretAccessKey: "s",
      Token: "t",
      Expiration: "2030-01-01T00:00:00Z",
    });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    await assert.rejects(credentialsFromServer(url, "t", "huge"), /too large/);
    await assert.rejects(
      credentialsFromServer(url, "t", "nope"),
      /refused profile 'nope': no such profile/,
    );
    // Replies that are no JSON object, or say no time, are one clear error, not a TypeError.
    await assert.rejects(credentialsFromServer(url, "t", "null"), /200 with no JSON object/);
    await assert.rejects(credentialsFromServer(url, "t", "bare"), /403 with no JSON object/);
    await assert.rejects(
      credentialsFromServer(url, "t", "silent"),
      /refused profile 'silent': status 403$/,
    );
    await assert.rejects(credentialsFromServer(url, "t", "badtime"), /an invalid expiration/);
    const c = await credentialsFromServer(url, "t", "busy", { sleep: () => Promise.resolve() });
    assert.equal(c.accessKeyId, "ASIAX");
    assert.equal(c.expiration?.toISOString(), "2030-01-01T00:00:00.000Z");
  } finally {
    await server.shutdown();
  }
});
