/**
 * `add`, `list`, `exec` and `remove` end to end with every real backend: the CLI runs as a user
 * runs it (a separate process per command, a temp HOME and config file) against the file vault,
 * pass with a throwaway gpg key, the kernel keyring, gnome-keyring and kwalletd on private buses.
 * Every helper tool the CLI starts is logged through PATH shims, so the tests also prove that no
 * secret reaches an argv, and none shows in the output of add, list and remove.
 */
import assert from "node:assert/strict";
import type { CliOptions, CliResult } from "../support/cli.ts";
import { runCli } from "../support/cli.ts";
import { argvLog } from "../support/argv_log.ts";
import { makePassStore, PASS_GPG } from "../support/gpg_pass.ts";
import { GNOME_KEYRING, startGnomeKeyring } from "../support/gnome_keyring.ts";
import { KEYCTL, startKeyctlSession, withoutJoinNotice } from "../support/keyctl_session.ts";
import { KWALLETD, startKwalletd } from "../support/kwalletd.ts";
import { ignoreWithout, type Peer } from "../support/peers.ts";
import { vaultHome } from "../support/vault_home.ts";
import { lookPath } from "../../lib/process/path_lookup.ts";

const KEY_ID = "AKIAE2EBACKEND000001";
const SECRET = "e2eBackendSecret/first+0123456789abcdefghij";
const KEY_ID_2 = "AKIAE2EBACKEND000002";
const SECRET_2 = "e2eBackendSecret/second+0123456789abcdefgh";

/** Tools the shell-out backends start (pass starts gpg itself). */
const TOOLS = ["pass", "gpg", "gpg2", "keyctl"];

/** One real backend, ready for CLI runs. */
interface BackendPeer {
  /** Environment that points the backend at the test's store (no backend choice in it). */
  env: Record<string, string>;
  /** Secrets of the backend itself that must never show (the file vault's passphrase). */
  secrets: string[];
  /** How the tool command line that stores an item looks (none for the file backend). */
  storeCommand?: RegExp;
  /** A PATH of its own for the CLI (instead of the shims): to prove it needs no tools. */
  path?: string;
  /** Programs that must not be on that PATH. */
  absentTools?: string[];
  /** Runs the CLI where the backend can reach its store. */
  run(args: string[], options: CliOptions): Promise<CliResult>;
  cleanup(): Promise<void>;
}

const PEERS: Record<string, () => Promise<BackendPeer>> = {
  file: () =>
    Promise.resolve({
      env: { AWS_VAULT_FILE_PASSPHRASE: "e2e-backend-passphrase" },
      secrets: ["e2e-backend-passphrase"],
      run: runCli,
      cleanup: () => Promise.resolve(),
    }),
  pass: async () => {
    const store = await makePassStore();
    return {
      // A prefix, as aws-vault's docs advise: at the store root `list` shows only names it can
      // tell are aws-vault's (tests/integration/backends_pass_test.ts), and `p` has no section.
      env: {
        GNUPGHOME: store.gnupgHome,
        PASSWORD_STORE_DIR: store.storeDir,
        AWS_VAULT_PASS_PREFIX: "aws-vault",
      },
      secrets: [],
      storeCommand: /^pass insert -m -f -- aws-vault\/p$/m,
      run: runCli,
      cleanup: store.cleanup,
    };
  },
  keyctl: async () => {
    const session = await startKeyctlSession();
    return {
      env: { AWS_VAULT_KEYCTL_SCOPE: "session" },
      secrets: [],
      storeCommand: /^keyctl padd user p \d+$/m,
      run: async (args, options) => {
        const r = await runCli(args, { ...options, wrapper: session.wrapper });
        return { ...r, stderr: withoutJoinNotice(r.stderr) };
      },
      cleanup: session.cleanup,
    };
  },
  "secret-service": async () => {
    const gk = await startGnomeKeyring();
    try {
      await gk.createCollection("awsvault");
    } catch (err) {
      await gk.cleanup();
      throw err;
    }
    // The backend talks D-Bus itself: the CLI gets a PATH with only `env` (exec's child) on it,
    // no secret-tool, no busctl, no shell.
    const bin = await Deno.makeTempDir({ prefix: "awsvault-bin-" });
    await Deno.symlink((await lookPath("env", Deno.env.get("PATH")))!, `${bin}/env`);
    return {
      env: { DBUS_SESSION_BUS_ADDRESS: gk.env.DBUS_SESSION_BUS_ADDRESS },
      secrets: [],
      path: bin,
      absentTools: ["secret-tool", "busctl"],
      run: runCli,
      cleanup: async () => {
        await gk.cleanup();
        await Deno.remove(bin, { recursive: true });
      },
    };
  },
  kwallet: async () => {
    const kd = await startKwalletd();
    return {
      env: { DBUS_SESSION_BUS_ADDRESS: kd.env.DBUS_SESSION_BUS_ADDRESS },
      secrets: [],
      run: runCli,
      cleanup: kd.cleanup,
    };
  },
};

/** The real programs each backend needs. */
const NEEDS: Record<string, Peer[]> = {
  file: [],
  pass: [PASS_GPG],
  keyctl: [KEYCTL],
  "secret-service": [GNOME_KEYRING],
  kwallet: [KWALLETD],
};

/** What a test gets: a way to run the CLI and the facts to check afterwards. */
interface Setup {
  /** Runs aws-vault with the test's environment plus `extraEnv`. */
  cli(args: string[], extraEnv?: Record<string, string>): Promise<CliResult>;
  configFile: string;
  /** Every secret that must stay out of output and argv. */
  secrets: string[];
  /** The command lines of every helper tool started so far. */
  toolArgv(): Promise<string>;
  /** See BackendPeer.storeCommand. */
  storeCommand?: RegExp;
  /** The CLI's PATH. */
  path: string;
  /** See BackendPeer.absentTools. */
  absentTools: string[];
}

/**
 * Runs `fn` against one backend with a fresh temp HOME and config file. `selectBy` says how the
 * backend is chosen: the `--backend` flag or the AWS_VAULT_BACKEND variable.
 */
async function withBackend(
  name: string,
  selectBy: "flag" | "env",
  fn: (s: Setup) => Promise<void>,
): Promise<void> {
  const peer = await PEERS[name]();
  const home = await vaultHome("").catch(async (err) => {
    await peer.cleanup();
    throw err;
  });
  try {
    const shims = `${home.dir}/shims`;
    await Deno.mkdir(shims);
    const tools = await argvLog(shims, TOOLS);
    const env: Record<string, string> = {
      HOME: home.dir,
      AWS_CONFIG_FILE: home.env.AWS_CONFIG_FILE,
      ...(name === "file" ? { AWS_VAULT_FILE_DIR: home.env.AWS_VAULT_FILE_DIR } : {}),
      ...peer.env,
      ...tools.env,
      ...(peer.path ? { PATH: peer.path } : {}),
      ...(selectBy === "env" ? { AWS_VAULT_BACKEND: name } : {}),
    };
    const flag = selectBy === "flag" ? ["--backend", name] : [];
    await fn({
      cli: (args, extraEnv = {}) => peer.run([...flag, ...args], { env: { ...env, ...extraEnv } }),
      configFile: home.env.AWS_CONFIG_FILE,
      secrets: [SECRET, SECRET_2, ...peer.secrets],
      toolArgv: tools.read,
      storeCommand: peer.storeCommand,
      path: env.PATH,
      absentTools: peer.absentTools ?? [],
    });
  } finally {
    await home.cleanup();
    await peer.cleanup();
  }
}

/** Asserts success and that no secret shows in stdout or stderr. */
function assertQuietSuccess(r: CliResult, secrets: string[], what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  for (const secret of secrets) {
    assert(!r.stdout.includes(secret), `${what}: a secret is on stdout`);
    assert(!r.stderr.includes(secret), `${what}: a secret is on stderr`);
  }
}

/** The AWS_ variables `env` printed in the child of `aws-vault exec`. */
function awsVariables(stdout: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (line.startsWith("AWS_") && eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return vars;
}

/** The table row of profile `p` in `list`'s output. */
function rowOf(stdout: string, profile: string): string[] | undefined {
  return stdout.split("\n").map((line) => line.trim().split(/\s+/))
    .find((cells) => cells[0] === profile);
}

/** Runs exec for `p` and returns the AWS_ variables its child saw. */
async function execEnv(s: Setup, profile: string): Promise<Record<string, string>> {
  const r = await s.cli(["exec", "--no-session", profile, "--", "env"]);
  assert.equal(r.code, 0, `exec: ${r.stderr}`);
  assert.equal(r.stderr, "");
  return awsVariables(r.stdout);
}

for (const name of Object.keys(PEERS)) {
  const ignore = await ignoreWithout(...NEEDS[name]);
  Deno.test(
    `${name}: add, list, exec and remove as a user runs them (--backend)`,
    { ignore },
    async () => {
      await withBackend(name, "flag", async (s) => {
        const add = await s.cli(["add", "--env", "p"], {
          AWS_ACCESS_KEY_ID: KEY_ID,
          AWS_SECRET_ACCESS_KEY: SECRET,
        });
        assertQuietSuccess(add, s.secrets, "add");
        assert.equal(add.stdout, 'Added credentials to profile "p" in vault\n');
        assert.equal(add.stderr, "");
        assert.equal(await Deno.readTextFile(s.configFile), "[profile p]\n");

        const list = await s.cli(["list"]);
        assertQuietSuccess(list, s.secrets, "list");
        assert.deepEqual(rowOf(list.stdout, "p"), ["p", "p", "-"]);
        const creds = await s.cli(["list", "--credentials"]);
        assertQuietSuccess(creds, s.secrets, "list --credentials");
        assert.equal(creds.stdout, "p\n");

        const vars = await execEnv(s, "p");
        assert.equal(vars.AWS_ACCESS_KEY_ID, KEY_ID);
        assert.equal(vars.AWS_SECRET_ACCESS_KEY, SECRET);
        assert.equal(vars.AWS_VAULT, "p");
        assert.equal(vars.AWS_SESSION_TOKEN, undefined, "--no-session hands out the stored key");

        const remove = await s.cli(["remove", "-f", "p"]);
        assertQuietSuccess(remove, s.secrets, "remove");
        assert.equal(remove.stdout, "Deleted credentials.\n");
        const after = await s.cli(["list"]);
        assertQuietSuccess(after, s.secrets, "list after remove");
        assert.deepEqual(rowOf(after.stdout, "p"), ["p", "-", "-"]);
        assert.equal((await s.cli(["list", "--credentials"])).stdout, "");

        const gone = await s.cli(["exec", "--no-session", "p", "--", "env"]);
        assert.equal(gone.code, 1);
        assert.match(gone.stderr, /^aws-vault: error: .*\n$/);

        const argv = await s.toolArgv();
        if (s.storeCommand) assert.match(argv, s.storeCommand, "the tools ran through the shims");
        for (const tool of s.absentTools) {
          assert.equal(await lookPath(tool, s.path), undefined, `${tool} is not on PATH`);
        }
        for (const secret of s.secrets) assert(!argv.includes(secret), "a secret is in an argv");
      });
    },
  );

  Deno.test(
    `${name}: what one process stores, later processes read and replace (AWS_VAULT_BACKEND)`,
    { ignore },
    async () => {
      await withBackend(name, "env", async (s) => {
        const first = await s.cli(["--debug", "add", "--env", "--no-add-config", "p"], {
          AWS_ACCESS_KEY_ID: KEY_ID,
          AWS_SECRET_ACCESS_KEY: SECRET,
        });
        assertQuietSuccess(first, s.secrets, "add --debug");
        assert.equal(await Deno.readTextFile(s.configFile), "", "--no-add-config");

        let vars = await execEnv(s, "p");
        assert.deepEqual([vars.AWS_ACCESS_KEY_ID, vars.AWS_SECRET_ACCESS_KEY], [KEY_ID, SECRET]);

        const second = await s.cli(["add", "--env", "--no-add-config", "p"], {
          AWS_ACCESS_KEY_ID: KEY_ID_2,
          AWS_SECRET_ACCESS_KEY: SECRET_2,
        });
        assertQuietSuccess(second, s.secrets, "add again");
        vars = await execEnv(s, "p");
        assert.deepEqual([vars.AWS_ACCESS_KEY_ID, vars.AWS_SECRET_ACCESS_KEY], [
          KEY_ID_2,
          SECRET_2,
        ]);

        const list = await s.cli(["--debug", "list", "--credentials"]);
        assertQuietSuccess(list, s.secrets, "list --debug");
        assert.equal(list.stdout, "p\n", "replacing an item leaves one item");

        const argv = await s.toolArgv();
        for (const secret of s.secrets) assert(!argv.includes(secret), "a secret is in an argv");
      });
    },
  );
}

Deno.test("keyctl: parallel first adds all land (ring creation is locked across processes)", {
  ignore: await ignoreWithout(KEYCTL),
}, async () => {
  for (let round = 0; round < 5; round++) {
    const session = await startKeyctlSession();
    const home = await Deno.makeTempDir();
    try {
      const env = {
        HOME: home,
        AWS_CONFIG_FILE: `${home}/config`,
        AWS_VAULT_BACKEND: "keyctl",
        AWS_VAULT_KEYCTL_SCOPE: "session",
      };
      const names = ["a", "b", "c", "d"];
      const adds = await Promise.all(
        names.map((p) =>
          runCli(["add", "--env", "--no-add-config", p], {
            wrapper: session.wrapper,
            env: { ...env, AWS_ACCESS_KEY_ID: `AKIA${p}`, AWS_SECRET_ACCESS_KEY: "s" },
          })
        ),
      );
      assert.deepEqual(
        adds.map((r) => [r.code, withoutJoinNotice(r.stderr)]),
        names.map(() => [0, ""]),
      );
      const list = await runCli(["list", "--credentials"], { wrapper: session.wrapper, env });
      assert.equal(list.stdout, "a\nb\nc\nd\n", `round ${round}`);
    } finally {
      await session.cleanup();
      await Deno.remove(home, { recursive: true });
    }
  }
});

Deno.test("kwallet: picked when running, --kwallet-folder and its variable, one line when absent", {
  ignore: await ignoreWithout(KWALLETD),
}, async () => {
  // kwalletd (5.97 on) also serves the Secret Service API, which the automatic choice would take
  // first (as aws-vault's does); switched off here, as it is where KWallet runs without it.
  const kd = await startKwalletd({ kwalletrc: ["[org.freedesktop.secrets]", "apiEnabled=false"] });
  const home = await Deno.makeTempDir();
  try {
    const env = {
      HOME: home,
      AWS_CONFIG_FILE: `${home}/config`,
      DBUS_SESSION_BUS_ADDRESS: kd.env.DBUS_SESSION_BUS_ADDRESS,
      AWS_ACCESS_KEY_ID: KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
    };
    // No Secret Service on this bus: the running kwalletd is the next automatic choice.
    let r = await runCli(["add", "--env", "--no-add-config", "auto"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^aws-vault: using the kwallet backend because secret-service is unavailable: /,
    );
    r = await runCli(["add", "--env", "--no-add-config", "--kwallet-folder", "team a", "flagged"], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const list = (folder?: string) =>
      runCli(["--backend", "kwallet", "list", "--credentials"], {
        env: folder === undefined ? env : { ...env, AWS_VAULT_KWALLET_FOLDER: folder },
      });
    assert.equal((await list()).stdout, "auto\n");
    assert.equal((await list("team a")).stdout, "flagged\n");
    const h = (await kd.busctl("open", "sxs", "aws-vault", "0", "aws-vault")).split(" ")[1];
    assert.equal(
      await kd.busctl("entryList", "iss", h, "team a", "aws-vault"),
      'as 1 "flagged"',
    );
    // DISABLE_KWALLET=1 takes it out of the automatic choice (aws-vault's switch).
    r = await runCli(["list", "--credentials"], {
      env: { ...env, DISABLE_KWALLET: "1", AWS_VAULT_FILE_PASSPHRASE: "x" },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    // No kwalletd: one line, exit 1, no stack trace; the automatic choice falls back to file.
    kd.signal("SIGKILL");
    r = await runCli(["--backend", "kwallet", "list", "--credentials"], { env });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "aws-vault: error: backend 'kwallet' is not available: no kwalletd is running or can be started on the session bus\n",
    );
  } finally {
    await kd.cleanup();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("secret-service: parallel adds from separate processes all land, one item each", {
  ignore: await ignoreWithout(GNOME_KEYRING),
}, async () => {
  await withBackend("secret-service", "env", async (s) => {
    const names = ["a", "b", "c", "d", "a", "b"];
    const adds = await Promise.all(
      names.map((p, i) =>
        s.cli(["add", "--env", "--no-add-config", p], {
          AWS_ACCESS_KEY_ID: `AKIA${p}${i}`,
          AWS_SECRET_ACCESS_KEY: "s",
        })
      ),
    );
    assert.deepEqual(adds.map((r) => [r.code, r.stderr]), names.map(() => [0, ""]));
    const list = await s.cli(["list", "--credentials"]);
    assert.equal(list.stdout, "a\nb\nc\nd\n");
  });
});
