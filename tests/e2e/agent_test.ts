/**
 * The credential agent, as real processes on a real Unix socket: `agent start` once, then
 * commands with no passphrase in their environment and no terminal; lock, stop, timeout, idle
 * and a removed socket; a wrong passphrase; loose permissions; hostile requests; SIGKILL.
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { runCli } from "../support/cli.ts";
import { ignoreWithout, IN_CI, peerMissing, requirePeers } from "../support/peers.ts";
import { PTY, runOnPty } from "../support/pty.ts";
import { TestSts } from "../support/test_sts.ts";
import {
  agentHome,
  PASSPHRASE,
  processAlive,
  RawConn,
  snapshot,
  waitUntil,
} from "../support/agent.ts";

const JON = {
  name: "jonsmith",
  accessKeyId: "AKIATESTJONSMITH0001",
  secretAccessKey: "jon-secret-key-0000000000000000000000000",
};
const CONFIG = "[profile jonsmith]\nregion = eu-west-1\n";
const noPty = await ignoreWithout(PTY);
/** Connecting as another user needs root (to switch) and a python every user may run. */
const SYSTEM_PYTHON = "/usr/bin/python3";
const notRoot = Deno.uid() !== 0;
if (notRoot) console.log("SKIP: connecting to the agent as another user needs root");
const noSystemPython = await ignoreWithout({
  name: `system python (${SYSTEM_PYTHON})`,
  probe: async () =>
    (await Deno.stat(SYSTEM_PYTHON).catch(() => undefined)) ? undefined : "missing",
});
const ASKS = /cannot prompt: no terminal available \(Enter passphrase to unlock/;

Deno.test("unlock once: 20 export/exec calls with no passphrase and no terminal, one STS call", async () => {
  const sts = new TestSts([JON]);
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const pid = await home.start();
    const env = { AWS_ENDPOINT_URL: sts.url };
    const keys = new Set<string>();
    for (let i = 0; i < 20; i++) {
      if (i % 2 === 0) {
        const r = await home.run(["export", "--format=json", "jonsmith"], env);
        assert.equal(r.code, 0, r.stderr);
        keys.add(JSON.parse(r.stdout).AccessKeyId);
      } else {
        const r = await home.run(["exec", "jonsmith", "--", "sh", "-c", "env"], env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^AWS_SESSION_TOKEN=./m);
        assert.doesNotMatch(r.stdout, /AWS_VAULT_FILE_PASSPHRASE|test-passphrase/);
        keys.add(/^AWS_ACCESS_KEY_ID=(.*)$/m.exec(r.stdout)![1]);
      }
    }
    assert.equal(keys.size, 1);
    assert.equal(sts.callsOf("GetSessionToken").length, 1);
    // The passphrase is in no argv, no environment and no file: not the agent's, not on disk.
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    const environ = await Deno.readTextFile(`/proc/${pid}/environ`);
    assert.ok(!cmdline.includes(PASSPHRASE) && !environ.includes(PASSPHRASE));
    assert.ok(!environ.includes("AWS_VAULT_FILE_PASSPHRASE"));
    for (const [path, text] of await snapshot(home.dir)) {
      assert.ok(!text.includes(PASSPHRASE), `${path} holds the passphrase`);
    }
    const status = await home.run(["agent", "status"]);
    assert.equal(status.code, 0);
    assert.match(status.stdout, new RegExp(`pid ${pid}`));
    assert.match(status.stdout, /locked: no/);
  } finally {
    await home.cleanup();
    await sts.close();
  }
});

Deno.test({
  name: "agent start asks the passphrase on the terminal once and detaches from it",
  ignore: noPty,
}, async () => {
  await requirePeers(PTY);
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const r = await runOnPty(["agent", "start"], {
      env: home.clientEnv,
      steps: [["Enter passphrase to unlock", `${PASSPHRASE}\r`]],
    });
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(r.pending, []);
    const pid = Number(/agent started \(pid (\d+)\)/.exec(r.output)?.[1]);
    assert.ok(processAlive(pid), r.output);
    // Its own session, no controlling terminal: closing the terminal does not hang it up.
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    assert.equal(Number(fields[3]), pid, "session leader");
    assert.equal(Number(fields[4]), 0, "no controlling terminal");
    const after = await home.run(["export", "-n", "--format=json", "jonsmith"]);
    assert.equal(after.code, 0, after.stderr);
  } finally {
    await home.cleanup();
  }
});

Deno.test("32 parallel callers through the agent: one STS call, same credentials", async () => {
  const sts = new TestSts([JON]);
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    await home.start();
    const runs = await Promise.all(
      Array.from(
        { length: 32 },
        () => home.run(["export", "--format=json", "jonsmith"], { AWS_ENDPOINT_URL: sts.url }),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.equal(new Set(runs.map((r) => JSON.parse(r.stdout).AccessKeyId)).size, 1);
    assert.equal(sts.callsOf("GetSessionToken").length, 1);
  } finally {
    await home.cleanup();
    await sts.close();
  }
});

Deno.test("agent lock: the next call asks, once; a wrong answer leaves it locked", async () => {
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    await home.start();
    const list = ["list", "--json"];
    assert.equal((await home.run(["export", "-n", "--format=json", "jonsmith"])).code, 0);
    const locked = await home.run(["agent", "lock"]);
    assert.equal(locked.code, 0, locked.stderr);
    const asked = await home.run(["export", "-n", "--format=json", "jonsmith"]);
    assert.equal(asked.code, 1);
    assert.match(asked.stderr, ASKS);
    // A wrong passphrase: refused, and the agent stays locked.
    const wrong = await home.run(["export", "-n", "jonsmith"], {
      AWS_VAULT_FILE_PASSPHRASE: "not-it",
    });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong passphrase/);
    assert.match((await home.run(["agent", "status"])).stdout, /locked: yes/);
    // Typed on a terminal where one can be had; from the environment otherwise.
    if (IN_CI || (await peerMissing(PTY)) === undefined) {
      const typed = await runOnPty(["export", "-n", "--format=json", "jonsmith"], {
        env: home.clientEnv,
        steps: [["Enter passphrase to unlock", `${PASSPHRASE}\r`]],
      });
      assert.equal(typed.code, 0, typed.output);
      assert.deepEqual(typed.pending, []);
    } else {
      const r = await home.run(["export", "-n", "jonsmith"], {
        AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE,
      });
      assert.equal(r.code, 0, r.stderr);
    }
    // Unlocked again: no passphrase needed.
    assert.match((await home.run(["agent", "status"])).stdout, /locked: no/);
    const after = await home.run(["export", "-n", "--format=json", "jonsmith"]);
    assert.equal(after.code, 0, after.stderr);
    assert.equal((await home.run(list)).code, 0);
  } finally {
    await home.cleanup();
  }
});

Deno.test("agent stop, its timeout and a removed socket end it; the next call asks again", async () => {
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const call = () => home.run(["export", "-n", "--format=json", "jonsmith"]);

    let pid = await home.start();
    assert.equal((await call()).code, 0);
    const stop = await home.run(["agent", "stop"]);
    assert.equal(stop.code, 0, stop.stderr);
    await waitUntil("the stopped agent exits", () => !processAlive(pid));
    assert.match((await call()).stderr, ASKS);
    const status = await home.run(["agent", "status"]);
    assert.equal(status.code, 1);
    assert.match(status.stdout, /no agent is running/);

    pid = await home.start(["--timeout", "2s"]);
    assert.equal((await call()).code, 0);
    await waitUntil("the agent exits at its timeout", () => !processAlive(pid));
    assert.match((await call()).stderr, ASKS);

    pid = await home.start(["--idle", "1s"]);
    await waitUntil(
      "the idle agent locks",
      async () => /locked: yes/.test((await home.run(["agent", "status"])).stdout),
    );
    assert.ok(processAlive(pid));
    assert.match((await call()).stderr, ASKS);

    await Deno.remove(home.sock);
    await waitUntil("the agent exits when its socket is removed", () => !processAlive(pid));
  } finally {
    await home.cleanup();
  }
});

Deno.test("a wrong passphrase at agent start changes nothing and starts nothing", async () => {
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const before = await snapshot(home.dir);
    const r = await runCli(["agent", "start"], {
      env: { ...home.env, AWS_VAULT_FILE_PASSPHRASE: "wrong" },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^aws-vault: error: wrong passphrase for vault .*\n$/);
    assert.deepEqual(await snapshot(home.dir), before);
    assert.equal((await home.run(["agent", "status"])).code, 1);
  } finally {
    await home.cleanup();
  }
});

Deno.test("two agent starts at once: one agent, the other says one is running", async () => {
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const runs = await Promise.all(
      [0, 1, 2].map(() => runCli(["agent", "start"], { env: home.env })),
    );
    const ok = runs.filter((r) => r.code === 0);
    assert.equal(ok.length, 1, runs.map((r) => r.stderr).join(""));
    for (const r of runs.filter((r) => r.code !== 0)) {
      assert.match(r.stderr, /^aws-vault: error: an agent is already running \(pid \d+\)/);
    }
  } finally {
    await home.cleanup();
  }
});

Deno.test("agent socket places with loose permissions or another owner are refused", async () => {
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const runDir = `${home.dir}/run`;
    const start = () => runCli(["agent", "start"], { env: home.env });

    await Deno.mkdir(runDir, { mode: 0o755 });
    await Deno.chmod(runDir, 0o755);
    let r = await start();
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^aws-vault: error: refusing the agent socket place .*run: it has mode 0755; it must be 0700/,
    );

    if (Deno.uid() === 0) {
      await Deno.chmod(runDir, 0o700);
      await Deno.chown(runDir, 65534, 65534);
      r = await start();
      assert.equal(r.code, 1);
      assert.match(r.stderr, /it is owned by uid 65534, not by you \(uid 0\)/);
      await Deno.chown(runDir, 0, 0);
    }
    await Deno.remove(runDir);
    await Deno.mkdir(`${home.dir}/elsewhere`, { mode: 0o700 });
    await Deno.symlink(`${home.dir}/elsewhere`, runDir);
    r = await start();
    assert.match(r.stderr, /run: it is a symbolic link/);
    await Deno.remove(runDir);

    // A plain file where the socket should be.
    await Deno.mkdir(runDir, { mode: 0o700 });
    await Deno.writeTextFile(home.sock, "");
    r = await home.run(["agent", "status"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /agent\.sock: it is not a socket/);
    await Deno.remove(home.sock);

    // A running agent whose socket gets loose: clients refuse it and work without it.
    await home.start();
    await Deno.chmod(home.sock, 0o666);
    r = await home.run(["export", "-n", "--format=json", "jonsmith"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not using the credential agent: .*agent\.sock: it has mode 0666/);
    assert.match(r.stderr, ASKS);
    r = await home.run(["export", "-n", "jonsmith"], { AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE });
    assert.equal(r.code, 0, r.stderr);
    await Deno.chmod(home.sock, 0o600);

    r = await home.run(["agent", "status"], { AWS_VAULT_AGENT_SOCK: "relative/agent.sock" });
    assert.match(r.stderr, /AWS_VAULT_AGENT_SOCK must be an absolute path/);
  } finally {
    await home.cleanup();
  }
});

Deno.test({
  name: "another user is never served: the kernel refuses them the 0700 socket directory",
  ignore: notRoot || noSystemPython,
}, async () => {
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    await home.start();
    // The other user may even traverse the home; the 0700 socket directory stops them.
    await Deno.chmod(home.dir, 0o755);
    const connect = (uid: number) =>
      new Deno.Command("setpriv", {
        args: [
          `--reuid=${uid}`,
          `--regid=${uid}`,
          "--clear-groups",
          // The system python: a user's pyenv shims live under root's 0700 home.
          SYSTEM_PYTHON,
          "-c",
          "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); " +
          's.sendall(b\'{"v":1,"op":"status"}\\n\'); print(s.recv(4096).decode())',
          home.sock,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const other = await connect(65534);
    assert.equal(other.success, false);
    assert.match(new TextDecoder().decode(other.stderr), /PermissionError/);
    // The same client as the owner is served (the probe itself works).
    const owner = await connect(0);
    assert.equal(owner.success, true, new TextDecoder().decode(owner.stderr));
    assert.match(new TextDecoder().decode(owner.stdout), /"ok":true/);
  } finally {
    await home.cleanup();
  }
});

Deno.test("garbage, oversized, half-sent and hostile requests get an error; the agent keeps serving", async () => {
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    await home.start();
    const dir = home.env.AWS_VAULT_FILE_DIR;
    const status = '{"v":1,"op":"status"}\n';
    const c = await RawConn.open(home.sock);
    const expect = async (line: string | Uint8Array, code: string) => {
      await c.send(line);
      const r = await c.reply();
      assert.equal(r?.ok, false, `${line}`);
      assert.equal(r?.code, code, `${line}: ${JSON.stringify(r)}`);
    };
    await expect("garbage\n", "bad-request");
    await expect("\n", "bad-request");
    await expect(Uint8Array.of(0xff, 0xfe, 0x7b, 0x0a), "bad-request");
    await expect("[1,2]\n", "bad-request");
    await expect("null\n", "bad-request");
    await expect("42\n", "bad-request");
    await expect("{}\n", "unsupported-version");
    await expect('{"v":2,"op":"status"}\n', "unsupported-version");
    await expect('{"v":"1","op":"status"}\n', "unsupported-version");
    await expect('{"v":1,"op":"steal"}\n', "bad-request");
    await expect('{"v":1,"op":"decrypt","dir":5,"path":"x","jwe":"x"}\n', "bad-request");
    await expect('{"v":1,"op":"encrypt","dir":"' + dir + '","item":"{"}\n', "bad-request");
    await expect(
      JSON.stringify({ v: 1, op: "decrypt", dir: "/elsewhere", path: "x", jwe: "a.b.c.d.e" }) +
        "\n",
      "wrong-vault",
    );
    // A JWE asking for 2^31 PBKDF2 rounds is refused before any work.
    const header = btoa(JSON.stringify({
      alg: "PBES2-HS256+A128KW",
      enc: "A256GCM",
      p2c: 2 ** 31,
      p2s: "AAAAAAAAAAAAAAAA",
    })).replaceAll("=", "");
    await expect(
      JSON.stringify({ v: 1, op: "decrypt", dir, path: "bomb", jwe: `${header}.a.b.c.d` }) + "\n",
      "invalid-item",
    );
    await expect(
      JSON.stringify({ v: 1, op: "decrypt", dir, path: "junk", jwe: "not a jwe" }) + "\n",
      "invalid-item",
    );
    // Pipelined requests in one write: one reply each, in order.
    await c.send(status + status);
    assert.equal((await c.reply())?.ok, true);
    assert.equal((await c.reply())?.ok, true);
    c.close();

    // Oversized, with and without a newline: refused and that connection closed.
    for (const tail of ["", "\n"]) {
      const big = await RawConn.open(home.sock);
      await big.send("x".repeat((1 << 20) + 10) + tail).catch(() => {});
      const r = await big.reply();
      assert.equal(r?.code, "too-large");
      assert.equal(await big.reply(), undefined);
      big.close();
    }

    // Half-sent: others are served meanwhile, and the agent gives up on it.
    const half = await RawConn.open(home.sock);
    await half.send('{"v":1,"op":"sta');
    const other = await RawConn.open(home.sock);
    await other.send(status);
    assert.equal((await other.reply())?.ok, true);
    other.close();
    assert.equal(await half.reply(), undefined);
    half.close();

    // A client that leaves before its reply; 300 connections at once.
    const gone = await RawConn.open(home.sock);
    await gone.send(status);
    gone.close();
    const many = await Promise.all(
      Array.from({ length: 300 }, () => RawConn.open(home.sock).catch(() => undefined)),
    );
    for (const m of many) m?.close();

    const r = await home.run(["export", "-n", "--format=json", "jonsmith"]);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await home.cleanup();
  }
});

Deno.test("the agent killed with SIGKILL mid-write loses no item", async () => {
  const home = await agentHome(CONFIG);
  try {
    await home.addKeys("jonsmith", JON.accessKeyId, JON.secretAccessKey);
    const pid = await home.start();
    const writes = Array.from(
      { length: 16 },
      (_, i) =>
        home.run(["add", "--env", "--no-add-config", `p${i}`], {
          AWS_ACCESS_KEY_ID: `AKIATESTPARALLEL${String(i).padStart(4, "0")}`,
          AWS_SECRET_ACCESS_KEY: `secret-${i}`,
        }),
    );
    await waitUntil("some writes landed", async () => {
      let n = 0;
      for await (const _ of Deno.readDir(home.env.AWS_VAULT_FILE_DIR)) n++;
      return n >= 3;
    });
    Deno.kill(pid, "SIGKILL");
    const results = await Promise.all(writes);
    // Every item on disk decrypts; every write that said it worked is there, whole.
    const keyring = new FileKeyring(home.env.AWS_VAULT_FILE_DIR, {
      passphrase: PASSPHRASE,
      terminal: { readLine: () => Promise.reject(new Error("no terminal")) },
    });
    const keys = await keyring.keys();
    for (const key of keys) assert.ok(await keyring.get(key), key);
    assert.ok(keys.includes("jonsmith"));
    results.forEach((r, i) => {
      if (r.code === 0) assert.ok(keys.includes(`p${i}`), `p${i} was reported stored`);
      else assert.match(r.stderr, /^aws-vault: error: .*(credential agent|cannot prompt)/m);
    });
    // A dead agent's socket is not an agent: commands work without it, and a new one starts.
    const r = await home.run(["list", "--credentials"], { AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE });
    assert.equal(r.code, 0, r.stderr);
    await home.start();
  } finally {
    await home.cleanup();
  }
});
