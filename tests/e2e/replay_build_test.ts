/**
 * Replay records across builds of the program: a record says which build made it (lib/replay/
 * record.ts), so after an upgrade, or from another checkout, the first call runs in full and
 * records its own decision instead of serving the old build's. Whether a run was replayed is
 * seen from outside by the record file: a full run of a new decision adds a record, a replay
 * writes nothing.
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { UserError } from "../../lib/errors.ts";
import { replayDir } from "../../lib/replay/record.ts";
import { QUIET_MS } from "../../lib/fs/stamp.ts";
import { CredentialStore, SessionStore } from "../../lib/store/mod.ts";
import { cliCommand, runCli, selectedLauncher } from "../support/cli.ts";
import { vaultHome } from "../support/vault_home.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const EXPORT = ["export", "--format=json", "p"];

/** The records in the call's one file (the test makes one call). */
async function records(dir: string): Promise<unknown[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".json")) files.push(e.name);
  assert.equal(files.length, 1, `one call, one file: ${files.join(", ")}`);
  return JSON.parse(await Deno.readTextFile(`${dir}/${files[0]}`));
}

/** A copy of the program's source in a temp dir: another checkout, another build. */
async function sourceCopy(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-build-" });
  for (const name of ["main.ts", "deno.json", "deno.lock", "lib", "backends"]) {
    const cp = await new Deno.Command("cp", { args: ["-R", `${ROOT}${name}`, `${dir}/`] }).output();
    assert.ok(cp.success, new TextDecoder().decode(cp.stderr));
  }
  return dir;
}

Deno.test("a replay record made by another build of the program is not served", async () => {
  const home = await vaultHome("[profile p]\nregion = eu-west-1\n");
  const copy = await sourceCopy();
  try {
    const keyring = new FileKeyring(`${home.dir}/keys`, {
      passphrase: home.env.AWS_VAULT_FILE_PASSPHRASE,
      terminal: { readLine: () => Promise.reject(new UserError("no terminal")) },
    });
    await new CredentialStore(keyring).set("p", {
      accessKeyId: "AKIABUILDEXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYBUILDKEY",
    });
    await new SessionStore(keyring, () => new Date()).set(
      { type: "sts.GetSessionToken", profileName: "p", mfaSerial: "" },
      {
        accessKeyId: "ASIABUILDEXAMPLE",
        secretAccessKey: "session/secret/BUILD",
        sessionToken: "session-token-BUILD",
        expiration: new Date(Date.now() + 8 * 3_600_000),
      },
    );
    // Stamps are trusted only from files left alone for a while (lib/fs/stamp.ts).
    await new Promise((r) => setTimeout(r, QUIET_MS + 200));
    const dir = replayDir(`${home.dir}/.awsvault/locks`);
    const run = async (launcher?: string[]) => {
      const r = await runCli(EXPORT, { env: home.env, ...(launcher ? { launcher } : {}) });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /"AccessKeyId": ?"ASIABUILDEXAMPLE"/);
      return r.stdout;
    };

    const first = await run();
    assert.equal((await records(dir)).length, 1, "the full run recorded its decision");
    // The same build again: its record stands, nothing is written.
    assert.equal(await run(), first);
    assert.equal((await records(dir)).length, 1);
    // Another build runs in full (and records), though nothing else changed.
    const other = [Deno.execPath(), "run", "-A", "--quiet", `${copy}/main.ts`];
    assert.equal(await run(other), first);
    assert.equal((await records(dir)).length, 2, "another checkout's run was a full run");
    if (selectedLauncher() === "binary") {
      // An upgraded binary is a new file at the same place.
      const binary = cliCommand()[0];
      const upgraded = `${copy}/aws-vault`;
      await Deno.copyFile(binary, upgraded);
      await Deno.chmod(upgraded, 0o755);
      assert.equal(await run([upgraded]), first);
      assert.equal((await records(dir)).length, 3, "another binary's run was a full run");
    }
  } finally {
    await home.cleanup();
    await Deno.remove(copy, { recursive: true });
  }
});
