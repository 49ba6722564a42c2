/**
 * The CLI under attack (issue 14): generated hostile profile names go through `add`, `list`,
 * `remove` and the config edit as a user would type them. Each is either refused with one line
 * (`aws-vault: error: ...`, no stack trace, non-zero exit) or stored and removed without
 * touching another profile's key or config section. HOSTILE_SEED=<seed> replays a run.
 */
import assert from "node:assert/strict";
import { runCli } from "../support/cli.ts";
import { hostileStrings, runSeed, seededRandom } from "../support/hostile.ts";
import { vaultHome } from "../support/vault_home.ts";
import { parseConfig } from "../../lib/config/config_file.ts";

const oneErrorLine = (stderr: string) => /^aws-vault: error: [^\n]+\n$/.test(stderr);

Deno.test("attacks: hostile profile names through add, list and remove", async () => {
  const seed = runSeed();
  // argv cannot carry NUL, and Deno 2.9.6 drops a trailing CR from its arguments (Deno.args
  // never sees it); everything else goes as it is.
  const names = hostileStrings(seededRandom(seed), 6).filter((n) =>
    !n.includes("\0") && !n.endsWith("\r")
  );
  const home = await vaultHome("[profile bystander]\nregion = eu-west-1\n");
  try {
    await home.addKeys("bystander", "AKIABYSTANDER", "keep-me");
    const keyEnv = { ...home.env, AWS_ACCESS_KEY_ID: "AKIAHOSTILE", AWS_SECRET_ACCESS_KEY: "s" };
    const accepted: string[] = [];
    for (let i = 0; i < names.length; i += 4) {
      // A few at once: parallel adds into one vault and one config file.
      await Promise.all(
        names.slice(i, i + 4).map(async (name) => {
          const r = await runCli(["add", "--env", name], { env: keyEnv });
          const what = `seed ${seed}, name ${JSON.stringify(name)}`;
          if (r.code === 0) {
            assert.equal(r.stdout, `Added credentials to profile "${name}" in vault\n`, what);
            accepted.push(name);
          } else {
            assert.ok(oneErrorLine(r.stderr), `${what}: ${JSON.stringify(r.stderr)}`);
          }
        }),
      );
    }
    const listed = await runCli(["list", "--credentials"], { env: home.env });
    assert.equal(listed.code, 0, listed.stderr);
    const credentials = listed.stdout.split("\n").filter((l) => l !== "");
    for (const name of accepted) {
      // One line per name; a name with a line break would be ambiguous, so only count plain ones.
      if (!/[\n\r\u2028\u0085]/.test(name)) {
        assert.ok(credentials.includes(name), `seed ${seed}: ${JSON.stringify(name)}`);
      }
    }
    const config = parseConfig(await Deno.readTextFile(`${home.dir}/config`), "config");
    assert.equal(config.profileSection("bystander")?.region, "eu-west-1", `seed ${seed}`);
    for (const name of accepted) {
      const r = await runCli(["remove", "-f", name], { env: home.env });
      assert.equal(r.code, 0, `seed ${seed}, ${JSON.stringify(name)}: ${r.stderr}`);
    }
    const after = await runCli(["list", "--credentials"], { env: home.env });
    assert.equal(after.stdout, "bystander\n", `seed ${seed}`);
  } finally {
    await home.cleanup();
  }
});

Deno.test("attacks: a hostile name quoted in a runtime error cannot drive the terminal", async () => {
  const home = await vaultHome("[profile bystander]\nregion = eu-west-1\n");
  try {
    // An escape sequence (recolour, clear screen, retitle) and a carriage return that would
    // overwrite the line, in a profile name the error quotes; and a name of 100 KB.
    const hostile = "x\x1b[31mred\x1b[2J\x1b]0;title\x07\rY";
    for (const args of [["exec", hostile, "--", "true"], ["remove", "-f", hostile]]) {
      const r = await runCli(args, { env: home.env });
      assert.notEqual(r.code, 0, args[0]);
      assert.ok(oneErrorLine(r.stderr), `${args[0]}: ${JSON.stringify(r.stderr)}`);
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(r.stderr.slice(0, -1), /[\x00-\x1f\x7f-\x9f]/, args[0]);
      assert.match(r.stderr, /x\\x1b\[31mred\\x1b\[2J\\x1b\]0;title\\x07\\x0dY/, args[0]);
    }
    const long = await runCli(["exec", "p".repeat(100_000), "--", "true"], { env: home.env });
    assert.ok(oneErrorLine(long.stderr), long.stderr.slice(0, 200));
    assert.ok(long.stderr.length <= 2100, `${long.stderr.length} characters`);
  } finally {
    await home.cleanup();
  }
});

Deno.test("attacks: names from a shared config or a hand-made vault file are listed escaped", async () => {
  // Profile names come from a config others may write, key names from the vault directory's
  // file names: neither can drive the terminal through `list`.
  const home = await vaultHome("[profile ok]\n[profile ev\x1b[2Jil]\nregion = eu-west-1\n");
  try {
    await home.addKeys("ok", "AKIAOK", "s");
    const dir = home.env.AWS_VAULT_FILE_DIR;
    await Deno.copyFile(`${dir}/ok`, `${dir}/k\x1b]0;title\x07`);
    for (const args of [["list"], ["list", "--profiles"], ["list", "--credentials"]]) {
      const r = await runCli(args, { env: home.env });
      assert.equal(r.code, 0, r.stderr);
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, args.join(" "));
      assert.match(
        r.stdout,
        args[1] === "--credentials" ? /^k\\x1b\]0;title\\x07$/m : /^ev\\x1b\[2Jil\b/m,
      );
    }
    const table = (await runCli(["list"], { env: home.env })).stdout.split("\n");
    // The table's columns still line up: widths count the name as shown.
    const row = table.find((l) => l.startsWith("ev\\x1b"))!;
    assert.equal(row.indexOf("-"), table[0].indexOf("Credentials"));
  } finally {
    await home.cleanup();
  }
});
