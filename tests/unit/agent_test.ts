/**
 * The agent's pieces in one process: request parsing, line framing, socket place rules, and
 * the file backend served by an in-process agent on a real socket (no passphrase in the client).
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { newItem } from "../../backends/keyring.ts";
import { agentCrypto, AgentNotRunning, agentRequest } from "../../lib/agent/client.ts";
import { LineReader, LineTooLong, parseRequest } from "../../lib/agent/protocol.ts";
import { AgentServer } from "../../lib/agent/server.ts";
import { agentSocketPlace, checkSocketDir, checkSocketFile } from "../../lib/agent/socket_path.ts";
import { envFromObject } from "../../lib/runtime.ts";

const noTerminal = { readLine: () => Promise.reject(new Error("no terminal in this test")) };

Deno.test("parseRequest: versioned, typed, unknown ops refused", () => {
  assert.deepEqual(parseRequest('{"v":1,"op":"status"}'), { v: 1, op: "status" });
  for (
    const [line, code] of [
      ["", "bad-request"],
      ["nope", "bad-request"],
      ['"status"', "bad-request"],
      ['{"op":"status"}', "unsupported-version"],
      ['{"v":1.5,"op":"status"}', "unsupported-version"],
      ['{"v":1,"op":"__proto__"}', "bad-request"],
      ['{"v":1,"op":"unlock","dir":"/d"}', "bad-request"],
      ['{"v":1,"op":"encrypt","dir":"/d","item":{}}', "bad-request"],
    ]
  ) {
    const r = parseRequest(line);
    assert.ok("ok" in r && !r.ok && r.code === code, `${line}: ${JSON.stringify(r)}`);
  }
});

Deno.test("LineReader: splits lines, refuses a line over the limit, drops a half line at EOF", async () => {
  const chunks = ["ab\ncd", "\n", "x".repeat(20)].map((s) => new TextEncoder().encode(s));
  const source = {
    read(p: Uint8Array): Promise<number | null> {
      const c = chunks.shift();
      if (!c) return Promise.resolve(null);
      p.set(c);
      return Promise.resolve(c.length);
    },
  };
  const reader = new LineReader(source, 10);
  const dec = (b?: Uint8Array) => b && new TextDecoder().decode(b);
  assert.equal(dec(await reader.next()), "ab");
  assert.equal(dec(await reader.next()), "cd");
  await assert.rejects(() => reader.next(), LineTooLong);
  const eof = new LineReader(
    { read: (p) => Promise.resolve(p.length ? (p.set([49]), chunks.length ? 1 : null) : null) },
    10,
  );
  assert.equal(await eof.next(), undefined);
});

Deno.test("agentSocketPlace: AWS_VAULT_AGENT_SOCK, then XDG_RUNTIME_DIR, then a per-uid temp dir", () => {
  const place = (vars: Record<string, string>) => agentSocketPlace(envFromObject(vars), 1000);
  assert.deepEqual(place({ AWS_VAULT_AGENT_SOCK: "/s/a.sock", XDG_RUNTIME_DIR: "/run/u" }), {
    path: "/s/a.sock",
    dir: "/s",
  });
  assert.equal(
    place({ XDG_RUNTIME_DIR: "/run/user/1000/" }).path,
    "/run/user/1000/aws-vault/agent.sock",
  );
  assert.equal(place({ XDG_RUNTIME_DIR: "relative" }).path, "/tmp/aws-vault-1000/agent.sock");
  assert.equal(place({ TMPDIR: "/var/tmp/" }).path, "/var/tmp/aws-vault-1000/agent.sock");
  assert.throws(() => place({ AWS_VAULT_AGENT_SOCK: "a.sock" }), /must be an absolute path/);
  assert.throws(
    () => place({ AWS_VAULT_AGENT_SOCK: `/${"d".repeat(110)}/a.sock` }),
    /longer than a Unix socket allows \(107 bytes\)/,
  );
  assert.throws(() => place({ TMPDIR: `/${"é".repeat(50)}` }), /longer than a Unix socket/);
});

Deno.test("checkSocketDir/checkSocketFile: creates 0700, refuses other owners, modes and kinds", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const uid = Deno.uid()!;
    const dir = `${tmp}/run`;
    assert.equal(await checkSocketDir(dir, uid), false);
    assert.equal(await checkSocketDir(dir, uid, { create: true }), true);
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    await assert.rejects(() => checkSocketDir(dir, uid + 1), /owned by uid \d+, not by you/);
    await Deno.chmod(dir, 0o710);
    await assert.rejects(() => checkSocketDir(dir, uid), /has mode 0710; it must be 0700/);
    await Deno.chmod(dir, 0o700);
    assert.equal(checkSocketFile(`${dir}/s`, uid), false);
    await Deno.writeTextFile(`${dir}/s`, "");
    assert.throws(() => checkSocketFile(`${dir}/s`, uid), /is not a socket/);
    await Deno.remove(`${dir}/s`);
    const listener = Deno.listen({ transport: "unix", path: `${dir}/s` });
    try {
      await Deno.chmod(`${dir}/s`, 0o600);
      assert.equal(checkSocketFile(`${dir}/s`, uid), true);
      assert.throws(() => checkSocketFile(`${dir}/s`, uid + 1), /owned by uid/);
      await Deno.chmod(`${dir}/s`, 0o660);
      assert.throws(
        () => checkSocketFile(`${dir}/s`, uid),
        /has mode 0660; it must be 0600/,
      );
    } finally {
      listener.close();
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the file backend through an in-process agent: reads and writes, locked falls back and unlocks", async () => {
  const tmp = await Deno.makeTempDir();
  const vault = `${tmp}/keys`;
  const socketPath = `${tmp}/run/agent.sock`;
  await Deno.mkdir(`${tmp}/run`, { mode: 0o700 });
  const server = new AgentServer({ socketPath, dir: vault, timeoutMs: 0, idleMs: 0 });
  try {
    const owner = new FileKeyring(vault, { passphrase: "pw", terminal: noTerminal });
    await owner.set(newItem({ key: "a", data: new TextEncoder().encode("one") }));
    await server.unlock("pw");
    await assert.rejects(() => server.unlock("wrong"), /wrong passphrase/);
    server.listen();
    const serving = server.serve();
    const opts = {
      env: envFromObject({ AWS_VAULT_AGENT_SOCK: socketPath }),
      notice: (t: string) => assert.fail(t),
      debug: () => {},
    };
    const client = () =>
      agentCrypto(vault, opts).then((crypto) =>
        new FileKeyring(vault, { terminal: noTerminal, crypto })
      );
    const k = await client();
    assert.equal(new TextDecoder().decode((await k.get("a"))!.data), "one");
    await k.set(newItem({ key: "b", data: new TextEncoder().encode("two") }));
    // Written by the agent's key: the owner's passphrase opens it.
    assert.equal(new TextDecoder().decode((await owner.get("b"))!.data), "two");
    assert.equal(server.status().cachedItems, 2);
    // A key too long for a file name: its key travels in the JWE header the agent writes.
    const long = "session/" + "x".repeat(300);
    await k.set(newItem({ key: long, data: new TextEncoder().encode("three") }));
    assert.ok((await owner.keys()).includes(long));
    assert.equal(new TextDecoder().decode((await owner.get(long))!.data), "three");
    await k.remove(long);

    server.lock();
    assert.equal(server.status().cachedItems, 0);
    await assert.rejects(() => client().then((c) => c.get("a")), /no terminal in this test/);
    // The locked agent is unlocked by the first client that proves the passphrase.
    const withPassphrase = new FileKeyring(vault, {
      passphrase: "pw",
      terminal: noTerminal,
      crypto: await agentCrypto(vault, opts),
    });
    assert.ok(await withPassphrase.get("a"));
    assert.equal(server.locked, false);
    assert.ok(await (await client()).get("b"));
    // Another vault directory is not served: the client steps aside.
    const other = await agentCrypto(`${tmp}/other`, opts);
    assert.equal(await other!.decrypt("a.b.c.d.e", "x"), undefined);
    server.stop("test");
    await serving;
    assert.equal(await agentCrypto(vault, opts), undefined);
  } finally {
    server.stop("test");
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the client against a broken agent: silence, garbage, another version, a hang-up", async () => {
  const tmp = await Deno.makeTempDir();
  const path = `${tmp}/s`;
  const listener = Deno.listen({ transport: "unix", path });
  // The client tries a hang-up again for a while (a busy agent's close can arrive as one), so
  // the last stand-in hangs up on every try.
  const hangUps = 1 + 8;
  const replies = ["", "garbage\n", '{"v":2,"ok":true}\n', ...Array(hangUps).fill("close")];
  const serving = (async () => {
    for (const reply of replies) {
      const conn = await listener.accept();
      const buf = new Uint8Array(1024);
      await conn.read(buf);
      if (reply === "") {
        await conn.read(buf).catch(() => null); // never answers; the client gives up
      } else if (reply !== "close") {
        await conn.write(new TextEncoder().encode(reply));
      }
      conn.close();
    }
  })();
  try {
    const status = { v: 1, op: "status" } as const;
    await assert.rejects(
      () => agentRequest(path, status, { timeoutMs: 200 }),
      /did not answer within 0.2s/,
    );
    await assert.rejects(() => agentRequest(path, status), /reply that is not valid/);
    await assert.rejects(() => agentRequest(path, status), /protocol version 2.*restart the agent/);
    await assert.rejects(
      () => agentRequest(path, status),
      /closed the connection before answering/,
    );
    await serving;
    listener.close();
    await assert.rejects(() => agentRequest(path, status), AgentNotRunning);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the client tries a busy agent again, and gives up with its busy reply", async () => {
  const tmp = await Deno.makeTempDir();
  const path = `${tmp}/s`;
  const listener = Deno.listen({ transport: "unix", path });
  const busy = '{"v":1,"ok":false,"code":"busy","message":"the agent has too many connections"}\n';
  const status = '{"v":1,"ok":true,"status":{"pid":1}}\n';
  // Two busy answers, then one that serves; then busy for ever.
  const replies = [busy, busy, status, ...Array(9).fill(busy)];
  let served = 0;
  const serving = (async () => {
    for (const reply of replies) {
      const conn = await listener.accept();
      await conn.read(new Uint8Array(1024));
      await conn.write(new TextEncoder().encode(reply));
      conn.close();
      served++;
    }
  })();
  try {
    const request = { v: 1, op: "status" } as const;
    const first = await agentRequest(path, request);
    assert.equal(first.ok, true);
    assert.equal(served, 3);
    const second = await agentRequest(path, request);
    assert.equal(second.ok, false);
    assert.equal(second.ok === false && second.code, "busy");
    await serving;
    assert.equal(served, replies.length);
  } finally {
    listener.close();
    await Deno.remove(tmp, { recursive: true });
  }
});
