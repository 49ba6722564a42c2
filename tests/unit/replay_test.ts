/**
 * Replay (lib/replay): a full run of `export` that hands out a cached session records its
 * decision; the same call is then served from the record, with the same output, while every
 * input holds, and runs in full (replay says undefined) after any change. Real file vault, real
 * config file, the real command line in-process; the clock is set a minute ahead so that the
 * files the test just wrote count as left alone (lib/fs/stamp.ts).
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { newItem } from "../../backends/keyring.ts";
import { runCli } from "../../lib/cli/mod.ts";
import { UserError } from "../../lib/errors.ts";
import { fnv1a64Hex } from "../../lib/encoding.ts";
import { SILENT_LOGGER } from "../../lib/logger.ts";
import { lookPath } from "../../lib/process/path_lookup.ts";
import { replayDir } from "../../lib/replay/record.ts";
import { replay } from "../../lib/replay/replay.ts";
import { CredentialStore, SessionStore } from "../../lib/store/mod.ts";
import { type TestRuntime, testRuntime } from "../support/runtime.ts";

const PASSPHRASE = "replay-passphrase";
const HOUR = 3_600_000;
const SECRET = "session/secret/REPLAYKEY";
const TOKEN = "session-token-REPLAY";
const LONG_TERM_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYREPLAYKEY";

interface Home {
  dir: string;
  env: Record<string, string>;
  /** A runtime over this home, the clock a minute ahead (plus `aheadMs`). */
  runtime(extra?: Record<string, string | undefined>, aheadMs?: number): TestRuntime;
}

/** A file vault in `dir` with p's long-term keys and a GetSessionToken session. */
async function writeVault(
  dir: string,
  s: { keyId: string; sessionKeyId: string; secret: string; token: string; lifeMs: number },
): Promise<void> {
  const keyring = new FileKeyring(dir, {
    passphrase: PASSPHRASE,
    terminal: { readLine: () => Promise.reject(new UserError("no terminal")) },
  });
  await new CredentialStore(keyring).set("p", {
    accessKeyId: s.keyId,
    secretAccessKey: LONG_TERM_SECRET,
  });
  await new SessionStore(keyring, () => new Date()).set(
    { type: "sts.GetSessionToken", profileName: "p", mfaSerial: "" },
    {
      accessKeyId: s.sessionKeyId,
      secretAccessKey: s.secret,
      sessionToken: s.token,
      expiration: new Date(Date.now() + s.lifeMs),
    },
  );
}

async function withHome(fn: (home: Home) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "replay-" });
  const env: Record<string, string> = {
    HOME: dir,
    AWS_CONFIG_FILE: `${dir}/config`,
    AWS_VAULT_BACKEND: "file",
    AWS_VAULT_FILE_DIR: `${dir}/keys`,
    AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE,
  };
  await Deno.writeTextFile(
    `${dir}/config`,
    "[profile p]\nregion = eu-west-1\n\n[profile r]\nsource_profile = p\n",
  );
  await writeVault(`${dir}/keys`, {
    keyId: "AKIAREPLAYEXAMPLE",
    sessionKeyId: "ASIAREPLAYEXAMPLE",
    secret: SECRET,
    token: TOKEN,
    lifeMs: 8 * HOUR,
  });
  const runtime = (extra: Record<string, string | undefined> = {}, aheadMs = 0) => {
    const vars: Record<string, string> = { ...env };
    for (const [k, v] of Object.entries(extra)) {
      if (v === undefined) delete vars[k];
      else vars[k] = v;
    }
    return testRuntime({ env: vars, home: dir, now: new Date(Date.now() + 60_000 + aheadMs) });
  };
  try {
    await fn({ dir, env, runtime });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the whole command line; returns its stdout (and fails on a non-zero exit). */
async function fullRun(rt: TestRuntime, argv: string[]): Promise<string> {
  const code = await runCli(argv, rt);
  assert.equal(code, 0, rt.err.join(""));
  return rt.out.join("");
}

/** Replays; the exit code (undefined: a miss) and what it printed. */
async function replayed(rt: TestRuntime, argv: string[]) {
  const code = await replay(argv, rt, SILENT_LOGGER);
  return { code, out: rt.out.join(""), err: rt.err.join("") };
}

async function recordFiles(home: Home): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(replayDir(`${home.dir}/.awsvault/locks`))) {
      names.push(e.name);
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}

const EXPORT = ["export", "--format=json", "p"];

Deno.test("a replayed cache hit prints what the full run printed, in every format", async () => {
  await withHome(async (home) => {
    const calls = [
      ...["json", "env", "export-env", "ini", "fish", "powershell"].map((f) => [
        "export",
        `--format=${f}`,
        "p",
      ]),
      ["exec", "--json", "p"],
      ["--backend=file", "export", "p"],
    ];
    for (const argv of calls) {
      const full = await fullRun(home.runtime(), argv);
      const again = await replayed(home.runtime(), argv);
      assert.equal(again.code, 0, argv.join(" "));
      assert.equal(again.out, full, argv.join(" "));
      assert.equal(again.err, "");
    }
    // One record per call, and none holds a secret or the passphrase.
    const files = await recordFiles(home);
    assert.equal(files.length, calls.length);
    for (const name of files) {
      const dir = replayDir(`${home.dir}/.awsvault/locks`);
      const text = await Deno.readTextFile(`${dir}/${name}`);
      for (const secret of [SECRET, TOKEN, PASSPHRASE, LONG_TERM_SECRET, "ASIAREPLAYEXAMPLE"]) {
        assert.ok(!text.includes(secret), `${name} holds a secret`);
      }
      assert.equal((await Deno.stat(`${dir}/${name}`)).mode! & 0o777, 0o600);
    }
    assert.equal((await Deno.stat(replayDir(`${home.dir}/.awsvault/locks`))).mode! & 0o777, 0o700);
  });
});

Deno.test("any change to what the decision read means a full run", async () => {
  await withHome(async (home) => {
    await fullRun(home.runtime(), EXPORT);
    assert.equal((await replayed(home.runtime(), EXPORT)).code, 0);
    const misses: [string, () => Promise<TestRuntime>][] = [
      ["a variable read changed", () => Promise.resolve(home.runtime({ AWS_REGION: "us-west-2" }))],
      ["a variable read got set", () => Promise.resolve(home.runtime({ AWS_MIN_TTL: "2h" }))],
      // Read only by the command line's parser (a flag's variable), before the run is watched.
      [
        "a flag's variable got set",
        () => Promise.resolve(home.runtime({ AWS_VAULT_KEYCHAIN_NAME: "other" })),
      ],
      [
        "a wrong passphrase",
        () => Promise.resolve(home.runtime({ AWS_VAULT_FILE_PASSPHRASE: "x" })),
      ],
      // No passphrase and no agent: the full run prompts; a replay never does.
      [
        "no passphrase",
        () => Promise.resolve(home.runtime({ AWS_VAULT_FILE_PASSPHRASE: undefined })),
      ],
      // The session has 8 h; export asks 15 min of it.
      [
        "the session is about to expire",
        () => Promise.resolve(home.runtime({}, 8 * HOUR - 60_000)),
      ],
    ];
    for (const [why, make] of misses) {
      const rt = await make();
      const r = await replayed(rt, EXPORT);
      assert.equal(r.code, undefined, why);
      assert.equal(r.out + r.err + rt.prompts.join(""), "", why);
    }
    // JSON is served inside an exec subshell, by the full run too (other formats are refused),
    // and so is `exec --json`.
    assert.equal((await replayed(home.runtime({ AWS_VAULT: "p" }), EXPORT)).code, 0);
    const execJson = ["exec", "--json", "p"];
    await fullRun(home.runtime(), execJson);
    assert.equal((await replayed(home.runtime({ AWS_VAULT: "p" }), execJson)).code, 0);
    for (const argv of [["export", "--format=env", "p"], ["export", "p"], ["--debug", ...EXPORT]]) {
      assert.equal((await replayed(home.runtime(), argv)).code, undefined, argv.join(" "));
    }
  });
});

Deno.test("a change to the config or the vault means a full run", async () => {
  const changes: [string, (home: Home) => Promise<void>][] = [
    [
      "a comment appended to the config",
      (h) => Deno.writeTextFile(`${h.dir}/config`, "# more\n", { append: true }),
    ],
    ["the config replaced by rename", async (h) => {
      const text = await Deno.readTextFile(`${h.dir}/config`);
      await Deno.writeTextFile(`${h.dir}/config.new`, text);
      await Deno.rename(`${h.dir}/config.new`, `${h.dir}/config`);
    }],
    ["the config removed", (h) => Deno.remove(`${h.dir}/config`)],
    ["the config's mode changed", (h) => Deno.chmod(`${h.dir}/config`, 0o640)],
    ["an item added to the vault", async (h) => {
      const k = new FileKeyring(`${h.dir}/keys`, {
        passphrase: PASSPHRASE,
        terminal: { readLine: () => Promise.reject(new UserError("no terminal")) },
      });
      await k.set(newItem({ key: "other", data: new TextEncoder().encode("x") }));
    }],
    ["the sessions cleared", async (h) => {
      const k = new FileKeyring(`${h.dir}/keys`, {
        passphrase: PASSPHRASE,
        terminal: { readLine: () => Promise.reject(new UserError("no terminal")) },
      });
      await new SessionStore(k, () => new Date()).removeAll();
    }],
    ["the vault's mode changed", (h) => Deno.chmod(`${h.dir}/keys`, 0o750)],
  ];
  for (const [why, change] of changes) {
    await withHome(async (home) => {
      if (why.includes("mode")) {
        // A chmod changes only ctime, which Deno reports in whole seconds: a user's change comes
        // 2.5 s or more after the files were last touched (lib/fs/stamp.ts), and so here.
        await new Promise((resolve) => setTimeout(resolve, 1100));
      }
      await fullRun(home.runtime(), EXPORT);
      assert.equal((await replayed(home.runtime(), EXPORT)).code, 0, why);
      await change(home);
      const r = await replayed(home.runtime(), EXPORT);
      assert.equal(r.code, undefined, why);
      assert.equal(r.out + r.err, "", why);
    });
  }
});

Deno.test("a record that is not ours, damaged or forged is never used", async () => {
  await withHome(async (home) => {
    await fullRun(home.runtime(), EXPORT);
    const dir = replayDir(`${home.dir}/.awsvault/locks`);
    const [name] = await recordFiles(home);
    const path = `${dir}/${name}`;
    const good = await Deno.readTextFile(path);
    const [record] = JSON.parse(good);
    const variants: [string, () => Promise<void>][] = [
      ["garbage", () => Deno.writeTextFile(path, "{not json")],
      ["empty", () => Deno.writeTextFile(path, "")],
      ["cut short", () => Deno.writeTextFile(path, good.slice(0, good.length / 2))],
      [
        "another format",
        () => Deno.writeTextFile(path, JSON.stringify([{ ...record, format: "x" }])),
      ],
      ["not a list", () => Deno.writeTextFile(path, JSON.stringify(record))],
      [
        "one bad record among good ones",
        () => Deno.writeTextFile(path, JSON.stringify([record, { ...record, item: 7 }])),
      ],
      ["too many records", () => Deno.writeTextFile(path, JSON.stringify(Array(5).fill(record)))],
      ["group-writable", async () => {
        await Deno.writeTextFile(path, good);
        await Deno.chmod(path, 0o620);
      }],
      ["a symlink to a good copy", async () => {
        await Deno.writeTextFile(`${home.dir}/copy.json`, good);
        await Deno.symlink(`${home.dir}/copy.json`, path);
      }],
      ["a FIFO", async () => {
        await new Deno.Command("mkfifo", { args: [path] }).output();
      }],
      [
        "larger than a record may be",
        () => Deno.writeTextFile(path, good.replace("}", `,"pad":"${"x".repeat(70_000)}"}`)),
      ],
      // Pointing at the long-term credential instead of the session: not a session item.
      [
        "forged to name the stored keys",
        () => Deno.writeTextFile(path, JSON.stringify([{ ...record, item: "p" }])),
      ],
      [
        "forged to name a missing item",
        () => Deno.writeTextFile(path, JSON.stringify([{ ...record, item: "sts.none" }])),
      ],
      [
        "with inputs of another call",
        () => Deno.writeTextFile(path, JSON.stringify([{ ...record, inputs: "0".repeat(64) }])),
      ],
      [
        "with a relative vault path",
        () =>
          Deno.writeTextFile(
            path,
            JSON.stringify([{ ...record, vault: { ...record.vault, dir: "keys" } }]),
          ),
      ],
    ];
    for (const [why, make] of variants) {
      await Deno.remove(path).catch(() => {});
      await make();
      const r = await replayed(home.runtime(), EXPORT);
      assert.equal(r.code, undefined, why);
      assert.equal(r.out + r.err, "", why);
    }
    // The full run still works and writes a good record again.
    await Deno.remove(path).catch(() => {});
    await fullRun(home.runtime(), EXPORT);
    assert.equal((await replayed(home.runtime(), EXPORT)).code, 0);
  });
});

Deno.test("runs that must not be replayed write no record", async () => {
  await withHome(async (home) => {
    // (exec's cases run in the e2e tests: in-process, exec would replace the test runner.)
    const cases: [string, string[], Record<string, string | undefined>][] = [
      ["--debug", ["--debug", ...EXPORT], {}],
      [
        "an MFA code on the command line",
        ["export", "--format=json", "--mfa-token=123456", "p"],
        {},
      ],
      ["the backend chosen automatically", EXPORT, { AWS_VAULT_BACKEND: undefined }],
      ["a relative config path", EXPORT, { AWS_CONFIG_FILE: "config" }],
      ["long-term keys, no session", ["export", "--no-session", "--format=json", "p"], {}],
    ];
    for (const [why, argv, extra] of cases) {
      const rt = home.runtime(extra);
      const code = await runCli(argv, rt);
      assert.equal(code, 0, `${why}: ${rt.err.join("")}`);
      assert.deepEqual(await recordFiles(home), [], why);
    }
    // Files changed within 2.5 s of the run: nothing is trusted yet.
    const now = testRuntimeAt(home, new Date());
    assert.equal(await runCli(EXPORT, now), 0);
    assert.deepEqual(await recordFiles(home), []);
  });
});

function testRuntimeAt(home: Home, now: Date): TestRuntime {
  return testRuntime({ env: home.env, home: home.dir, now });
}

Deno.test("a record is rewritten only when the decision changed; a call keeps four", async () => {
  await withHome(async (home) => {
    await fullRun(home.runtime(), EXPORT);
    const dir = replayDir(`${home.dir}/.awsvault/locks`);
    const [name] = await recordFiles(home);
    const before = await Deno.stat(`${dir}/${name}`);
    await fullRun(home.runtime(), EXPORT);
    const after = await Deno.stat(`${dir}/${name}`);
    assert.equal(after.ino, before.ino, "an equal record is not written again");
    // The same call from other environments (a terminal with the agent, a tool with the
    // passphrase...): each keeps its record, up to four; the oldest goes.
    const regions = ["us-west-2", "us-east-2", "eu-north-1", "ap-south-1"];
    for (const region of regions) await fullRun(home.runtime({ AWS_REGION: region }), EXPORT);
    assert.equal((await recordFiles(home)).length, 1, "one file per call");
    for (const region of regions) {
      assert.equal((await replayed(home.runtime({ AWS_REGION: region }), EXPORT)).code, 0, region);
    }
    assert.equal((await replayed(home.runtime(), EXPORT)).code, undefined, "the oldest went");
  });
});

Deno.test("fnv1a64Hex: the FNV-1a 64-bit test vectors", () => {
  assert.equal(fnv1a64Hex(""), "cbf29ce484222325");
  assert.equal(fnv1a64Hex("a"), "af63dc4c8601ec8c");
  assert.equal(fnv1a64Hex("foobar"), "85944171f73967e8");
  // Past one byte per character: the UTF-8 bytes are hashed.
  assert.equal(fnv1a64Hex("é"), fnv1a64Hex("\u00e9"));
  assert.notEqual(fnv1a64Hex("é"), fnv1a64Hex("e"));
});

Deno.test("exec: a run with `--` before the command is replayed with the child's environment", async () => {
  await withHome(async (home) => {
    // A real full run (in-process, exec would replace the test runner), once the files it
    // reads were left alone long enough to be recorded (lib/fs/stamp.ts).
    await new Promise((resolve) => setTimeout(resolve, 2600));
    const main = new URL("../../main.ts", import.meta.url).pathname;
    const full = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", main, ...args],
        env: { ...home.env, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const without = await full(["exec", "p", "true"]);
    assert.equal(without.code, 0, new TextDecoder().decode(without.stderr));
    assert.deepEqual(await recordFiles(home), [], "no `--`: nothing recorded");
    const ran = await full(["exec", "p", "--", "true"]);
    assert.equal(ran.code, 0, new TextDecoder().decode(ran.stderr));
    assert.equal((await recordFiles(home)).length, 1);

    const started: {
      command: string;
      args: string[];
      env: Record<string, string>;
      path?: string;
    }[] = [];
    const rt = testRuntime({
      env: { ...home.env, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      home: home.dir,
    });
    const code = await replay(["exec", "p", "--", "printenv", "-0"], rt, SILENT_LOGGER, {
      runCommand: (command, args, options) => {
        started.push({ command, args, env: options.env, path: options.commandPath });
        return Promise.resolve(5);
      },
    });
    assert.equal(code, 5, "the child's exit code");
    assert.equal(started.length, 1);
    const [{ command, args, env, path }] = started;
    assert.deepEqual([command, args], ["printenv", ["-0"]]);
    // Looked up on the child's PATH while the session decrypted.
    assert.equal(path, lookPath("printenv", env.PATH));
    assert.match(path ?? "", /^\/.*\/printenv$/);
    assert.equal(env.AWS_SECRET_ACCESS_KEY, SECRET);
    assert.equal(env.AWS_SESSION_TOKEN, TOKEN);
    assert.equal(env.AWS_REGION, "eu-west-1");
    assert.equal(env.AWS_VAULT, "p");
    assert.equal(env.AWS_VAULT_FILE_PASSPHRASE, undefined, "the passphrase never reaches it");
    // And in a process of its own, as `aws-vault exec` replays: the C library opened while the
    // session decrypts, then this process replaced by the command (99: not replayed).
    const url = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
    const driver = `import { replay } from ${url("../../lib/replay/replay.ts")};
      import { denoRuntime } from ${url("../../lib/runtime.ts")};
      import { SILENT_LOGGER } from ${url("../../lib/logger.ts")};
      Deno.exit((await replay(Deno.args, denoRuntime(), SILENT_LOGGER)) ?? 99);`;
    const replacing = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        driver,
        "exec",
        "p",
        "--",
        "sh",
        "-c",
        'printf "%s %s" "$$" "$AWS_SESSION_TOKEN"; exit 7',
      ],
      env: { ...home.env, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const replaced = await replacing.output();
    assert.equal(replaced.code, 7, new TextDecoder().decode(replaced.stderr));
    // The shell has the pid we started: it is that process, not a child of it.
    assert.equal(new TextDecoder().decode(replaced.stdout), `${replacing.pid} ${TOKEN}`);
    // The same call without a command, or with another call before `--`: a full run.
    assert.equal(await replay(["exec", "p", "--"], rt, SILENT_LOGGER), undefined);
    assert.equal(
      await replay(["exec", "-d", "2h", "p", "--", "true"], rt, SILENT_LOGGER),
      undefined,
    );
    // Inside an exec subshell the full run refuses exec: so does the replay (a miss).
    const nested = testRuntime({
      env: { ...home.env, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", AWS_VAULT: "q" },
      home: home.dir,
    });
    assert.equal(await replay(["exec", "p", "--", "true"], nested, SILENT_LOGGER), undefined);
  });
});

Deno.test("a config edited while the run used it is not recorded", async () => {
  await withHome(async (home) => {
    const rt = home.runtime();
    const env = rt.env;
    let edited = false;
    // The keyring opens after the config was read: the edit lands between read and record.
    rt.env = {
      get: (name) => {
        if (name === "AWS_VAULT_FILE_PASSPHRASE" && !edited) {
          edited = true;
          Deno.writeTextFileSync(`${home.dir}/config`, "region = us-west-2\n", { append: true });
        }
        return env.get(name);
      },
      toObject: () => env.toObject(),
    };
    assert.equal(await runCli(EXPORT, rt), 0, rt.err.join(""));
    assert.ok(edited);
    assert.deepEqual(await recordFiles(home), []);
  });
});

Deno.test("with the passphrase at hand a replay asks no agent: what sits at its socket place is not looked at", async () => {
  await withHome(async (home) => {
    const run = `${home.dir}/run`;
    await Deno.mkdir(run, { mode: 0o700 });
    const rt = (extra: Record<string, string | undefined> = {}) =>
      home.runtime({ XDG_RUNTIME_DIR: run, ...extra });
    await fullRun(rt(), EXPORT);
    // A plain file where the agent's socket would be: a full run refuses it, with a notice.
    await Deno.mkdir(`${run}/aws-vault`, { mode: 0o700 });
    await Deno.chmod(`${run}/aws-vault`, 0o700);
    await Deno.writeTextFile(`${run}/aws-vault/agent.sock`, "");
    const again = await replayed(rt(), EXPORT);
    assert.equal(again.code, 0);
    assert.equal(again.err, "");
    const full = rt();
    assert.equal(await runCli(EXPORT, full), 0, full.err.join(""));
    assert.match(
      full.err.join(""),
      /not using the credential agent: .*agent\.sock: it is not a socket/,
    );
    assert.equal(full.out.join(""), again.out);
    // Without the passphrase the agent is the only way in: the replay looks, and misses quietly.
    const bare = await replayed(rt({ AWS_VAULT_FILE_PASSPHRASE: undefined }), EXPORT);
    assert.equal(bare.code, undefined);
    assert.equal(bare.out + bare.err, "");
  });
});

Deno.test("records of one call for two vaults: each environment is served from its own vault", async () => {
  await withHome(async (home) => {
    // A second vault with another session for p.
    const other = `${home.dir}/keys2`;
    await writeVault(other, {
      keyId: "AKIAOTHERVAULT",
      sessionKeyId: "ASIAOTHERVAULT",
      secret: "session/secret/OTHER",
      token: "session-token-OTHER",
      lifeMs: 7 * HOUR,
    });
    const first = await fullRun(home.runtime(), EXPORT);
    // The newest record names the other vault's item: the replay below reads it ahead, and
    // then the item of the record that holds.
    const second = await fullRun(home.runtime({ AWS_VAULT_FILE_DIR: other }), EXPORT);
    assert.match(second, /ASIAOTHERVAULT/);
    const again = await replayed(home.runtime(), EXPORT);
    assert.equal(again.code, 0);
    assert.equal(again.out, first);
    const otherAgain = await replayed(home.runtime({ AWS_VAULT_FILE_DIR: other }), EXPORT);
    assert.equal(otherAgain.out, second);
  });
});
