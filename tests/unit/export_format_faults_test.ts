/**
 * `export` output meant for `eval` (issue 14 item 9): generated hostile values, read back by
 * real shells (dash, bash, fish) verbatim, and never running anything; hostile regions refused.
 */
import assert from "node:assert/strict";
import { formatExport } from "../../lib/exec/credential_env.ts";
import type { ExportFormat } from "../../lib/exec/names.ts";
import { resolveProfile } from "../../lib/config/resolve.ts";
import { parseConfig } from "../../lib/config/config_file.ts";
import { envFromObject } from "../../lib/runtime.ts";
import { hostileStrings, runSeed, seededRandom } from "../support/hostile.ts";
import { commandPeer, ignoreWithout } from "../support/peers.ts";

const FISH = commandPeer("fish", "fish", ["-c", "true"]);
const noFish = await ignoreWithout(FISH);

const dec = new TextDecoder("utf-8", { ignoreBOM: true });

/** Evaluates `script` in a shell and returns what it printed for each variable (NUL-separated). */
async function evalIn(shell: string, script: string, names: string[]): Promise<string[]> {
  const marker = await Deno.makeTempFile({ prefix: "export-injected-" });
  await Deno.remove(marker);
  const print = shell === "fish"
    ? names.map((n) => `printf '%s\\0' "$${n}"`).join("; ")
    : names.map((n) => `printf '%s\\0' "$${n}"`).join("; ");
  const out = await new Deno.Command(shell, {
    args: ["-c", `${shell === "fish" ? "eval (cat | string collect)" : 'eval "$(cat)"'}; ${print}`],
    env: { INJECT_MARKER: marker, PATH: "/usr/bin:/bin" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(script));
  await w.close();
  const r = await out.output();
  assert.equal(r.code, 0, `${shell}: ${dec.decode(r.stderr)}\n${script}`);
  const injected = await Deno.stat(marker).then(() => true, () => false);
  assert.equal(injected, false, `${shell} ran an injected command:\n${script}`);
  return dec.decode(r.stdout).split("\0").slice(0, names.length);
}

Deno.test("item 9: env, export-env and fish output is read back verbatim by real shells", async () => {
  const seed = runSeed();
  const rand = seededRandom(seed);
  // Values a hostile or broken STS could return; NUL cannot be in an environment at all.
  const values = hostileStrings(rand, 60).map((v) => v.replaceAll("\0", "")).filter((v) => v);
  values.push("x;touch $INJECT_MARKER", "$(touch $INJECT_MARKER)", "`touch $INJECT_MARKER`");
  values.push("'; touch $INJECT_MARKER; '", "a\ntouch $INJECT_MARKER", "~/x", "a:~/b");
  const shells: [string, ExportFormat[]][] = [
    ["dash", ["env", "export-env"]],
    ["bash", ["env", "export-env"]],
  ];
  if (!noFish) shells.push(["fish", ["fish"]]);
  const names = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"];
  for (const [shell, formats] of shells) {
    for (const format of formats) {
      // Several values per shell start: one run per triple keeps the test bounded.
      for (let i = 0; i < values.length; i += 3) {
        const [a, b, c] = [values[i], values[i + 1] ?? "b", values[i + 2] ?? "c"];
        const text = formatExport(format, { accessKeyId: a, secretAccessKey: b, sessionToken: c }, {
          profileName: "p",
        });
        // `env` lines set shell variables under eval; the printf below reads them.
        const script = text;
        const got = await evalIn(shell, script, names);
        assert.deepEqual(got, [a, b, c], `seed ${seed}, ${shell} ${format}`);
      }
    }
  }
});

Deno.test("item 9: plain values stay bare, as aws-vault prints them", () => {
  const text = formatExport("export-env", {
    accessKeyId: "ASIAEXAMPLE",
    secretAccessKey: "abc/def+ghi=",
    sessionToken: "FwoG//tok=",
  }, { profileName: "p", region: "eu-west-1" });
  assert.equal(
    text,
    "export AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nexport AWS_SECRET_ACCESS_KEY=abc/def+ghi=\nexport AWS_SESSION_TOKEN=FwoG//tok=\nexport AWS_REGION=eu-west-1\nexport AWS_DEFAULT_REGION=eu-west-1\n",
  );
});

Deno.test("item 9: a region that is not a region name is refused, from flag, env or config", () => {
  const rand = seededRandom(runSeed());
  const bad = [
    "x;echo INJECTED>/tmp/f",
    "eu-west-1\nexport X=1",
    "$(id)",
    "eu west",
    ...hostileStrings(rand, 20),
  ]
    .filter((r) => !/^[a-z0-9][a-z0-9-]{0,62}$/i.test(r));
  for (const region of bad) {
    const config = parseConfig("[profile cfg]\nregion = eu-west-1\n", "config");
    assert.throws(
      () => resolveProfile(config, "p", { env: envFromObject({}), flags: { region } }),
      /invalid region .*--region/s,
    );
    assert.throws(
      () => resolveProfile(config, "p", { env: envFromObject({ AWS_REGION: region }), flags: {} }),
      /invalid region .*AWS_REGION/s,
    );
  }
  const config = parseConfig("[profile cfg]\nregion = a;b\n", "config");
  assert.throws(() => resolveProfile(config, "cfg", { env: envFromObject({}) }), /invalid region/);
  assert.equal(
    resolveProfile(config, "cfg", { env: envFromObject({}), flags: { region: "us-gov-west-1" } })
      .region,
    "us-gov-west-1",
  );
});

Deno.test("item 9: ini output refuses values that would add lines", () => {
  assert.throws(
    () =>
      formatExport("ini", { accessKeyId: "A", secretAccessKey: "s\n[evil]" }, { profileName: "p" }),
    /line break/,
  );
});
