/**
 * A file vault the user cannot read (or cannot write): every command that needs it fails with one
 * clear line and exit 1, and nothing stored is lost. Root reads and writes any directory, so when
 * the tests run as root (as CI does) the CLI runs with the two capabilities that allow that
 * (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) dropped, through util-linux `setpriv`: the process then
 * meets file permissions exactly as an unprivileged user does. (Switching to `nobody` instead
 * would need the deno binary and its module cache, both under root's 0700 home, copied out.)
 */
import assert from "node:assert/strict";
import type { CliOptions, CliResult } from "../support/cli.ts";
import { runCli } from "../support/cli.ts";
import { ignoreWithout, type Peer, requirePeers } from "../support/peers.ts";
import { vaultHome } from "../support/vault_home.ts";

const DROPPED = "-dac_override,-dac_read_search";
const SETPRIV = ["setpriv", `--bounding-set=${DROPPED}`, `--inh-caps=${DROPPED}`];
const SECRET = "unreadableDirSecret/0123456789abcdefghijkl";

/** Proves that setpriv makes a root process meet a 0000 directory's permissions. */
async function dropWorks(): Promise<string | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "setpriv-probe-" });
  try {
    await Deno.chmod(dir, 0o000);
    const out = await new Deno.Command(SETPRIV[0], {
      args: [...SETPRIV.slice(1), "ls", dir],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return "setpriv ran, but the process could still read a mode 0000 directory";
    const err = new TextDecoder().decode(out.stderr);
    return /Permission denied/.test(err) ? undefined : `setpriv failed: ${err.trim()}`;
  } finally {
    await Deno.chmod(dir, 0o700);
    await Deno.remove(dir);
  }
}

/** setpriv, needed only when the tests run as root. */
const SETPRIV_PEER: Peer = { name: "setpriv (capability drop for root)", probe: dropWorks };
const AS_ROOT = Deno.uid() === 0;
const ignore = AS_ROOT && await ignoreWithout(SETPRIV_PEER);

/** How to run the CLI as a user without root's powers over file permissions. */
async function unprivilegedRunner(): Promise<
  (args: string[], options: CliOptions) => Promise<CliResult>
> {
  if (!AS_ROOT) return runCli;
  await requirePeers(SETPRIV_PEER);
  return (args, options) => runCli(args, { ...options, wrapper: SETPRIV });
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    files[e.name] = await Deno.readTextFile(`${dir}/${e.name}`);
  }
  return files;
}

function assertOneErrorLine(r: CliResult, dir: string, what: string): void {
  assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
  assert.equal(
    r.stderr,
    `aws-vault: error: cannot access vault directory ${dir}: permission denied\n`,
    what,
  );
  assert(!r.stderr.includes(SECRET) && !r.stdout.includes(SECRET), `${what}: secret shown`);
}

Deno.test(
  "an unreadable vault directory: one clear error line, exit 1, nothing lost",
  { ignore },
  async () => {
    const run = await unprivilegedRunner();
    const home = await vaultHome("[profile p]\n");
    const keys = home.env.AWS_VAULT_FILE_DIR;
    try {
      await home.addKeys("p", "AKIAUNREADABLE000001", SECRET);
      const before = await snapshot(keys);
      const env = { ...home.env, AWS_ACCESS_KEY_ID: "AKIANEW", AWS_SECRET_ACCESS_KEY: SECRET };
      await Deno.chmod(keys, 0o000);
      try {
        for (
          const args of [
            ["list"],
            ["list", "--credentials"],
            ["exec", "--no-session", "p", "--", "true"],
            ["remove", "-f", "p"],
            ["add", "--env", "q"],
            ["clear"],
          ]
        ) {
          assertOneErrorLine(await run(args, { env }), keys, args.join(" "));
        }
        const profiles = await run(["list", "--profiles"], { env });
        assert.equal(profiles.code, 0, "list --profiles does not open the vault");
        assert.equal(profiles.stdout, "p\n");
      } finally {
        await Deno.chmod(keys, 0o700);
      }
      assert.deepEqual(await snapshot(keys), before);
    } finally {
      await home.cleanup();
    }
  },
);

Deno.test("a read-only vault directory: reads work, writes fail clearly, nothing changes", {
  ignore,
}, async () => {
  const run = await unprivilegedRunner();
  const home = await vaultHome("[profile p]\n");
  const keys = home.env.AWS_VAULT_FILE_DIR;
  try {
    await home.addKeys("p", "AKIAUNREADABLE000001", SECRET);
    const before = await snapshot(keys);
    const env = { ...home.env, AWS_ACCESS_KEY_ID: "AKIANEW", AWS_SECRET_ACCESS_KEY: SECRET };
    await Deno.chmod(keys, 0o500);
    try {
      const list = await run(["list", "--credentials"], { env });
      assert.equal(list.code, 0, list.stderr);
      assert.equal(list.stdout, "p\n");
      const exec = await run([
        "exec",
        "--no-session",
        "p",
        "--",
        "sh",
        "-c",
        "echo $AWS_ACCESS_KEY_ID",
      ], {
        env: home.env,
      });
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(exec.stdout, "AKIAUNREADABLE000001\n");
      for (const args of [["remove", "-f", "p"], ["add", "--env", "p"], ["add", "--env", "q"]]) {
        assertOneErrorLine(await run(args, { env }), keys, args.join(" "));
      }
    } finally {
      await Deno.chmod(keys, 0o700);
    }
    assert.deepEqual(await snapshot(keys), before);
  } finally {
    await home.cleanup();
  }
});
