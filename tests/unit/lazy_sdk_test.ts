/**
 * Commands that do not call AWS, and the cache-hit path of `export` and `exec`, must not load
 * the AWS SDK: it may only be reached through a dynamic import (made when STS is actually
 * called). Checked on the real module graph (`deno info --json`), following static imports only.
 */
import assert from "node:assert/strict";

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

async function staticClosure(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length > 0) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpecifier.get(s)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  return seen;
}

/** Entry points, and a module each must reach statically (proof that the graph was read). */
const ENTRIES: [string, string][] = [
  // The cache-hit path of the credential commands.
  ["../../lib/cli/export.ts", "/lib/vault/chain.ts"],
  ["../../lib/cli/exec.ts", "/lib/vault/chain.ts"],
  // Commands that never call AWS (issue 2), and the program itself.
  ["../../main.ts", "/lib/runtime.ts"],
  ["../../lib/cli/mod.ts", "/lib/cli/parse.ts"],
  // A replayed cache hit (lib/replay): the file backend and the output, never the chain.
  ["../../lib/replay/replay.ts", "/backends/file.ts"],
  ["../../lib/cli/list.ts", "/lib/config/config_file.ts"],
  ["../../lib/cli/add.ts", "/lib/store/mod.ts"],
  ["../../lib/cli/remove.ts", "/lib/store/mod.ts"],
  ["../../lib/cli/clear.ts", "/lib/store/mod.ts"],
  ["../../lib/cli/profile.ts", "/lib/config/mod.ts"],
  ["../../lib/cli/migrate_backend.ts", "/lib/store/key_kinds.ts"],
  ["../../backends/file.ts", "/lib/fs/atomic.ts"],
  // Commands that call AWS still load the SDK only when they make the call.
  ["../../lib/cli/login.ts", "/lib/console/signin_url.ts"],
  ["../../lib/cli/rotate.ts", "/lib/vault/rotate.ts"],
  // SSO, web identity and credential_process: the SDK only when a call is made.
  ["../../lib/vault/profile_sources.ts", "/lib/vault/sso_token.ts"],
];

for (const [entry, reached] of ENTRIES) {
  Deno.test(`${entry.split("/").pop()} does not statically import the AWS SDK`, async () => {
    const closure = await staticClosure(entry);
    assert.ok([...closure].some((s) => s.endsWith(reached)), `the graph was read (${reached})`);
    const sdk = [...closure].filter((s) => s.startsWith("npm:@aws-sdk") || s.includes("@smithy"));
    assert.deepEqual(sdk, []);
  });
}

/**
 * The modules `--help`, `list`, and a cache-hit `export`/`exec` load (statically, and through
 * the dynamic imports these paths make): no npm package and no `node:` module at all, so Deno's
 * npm resolution and Node compatibility layer never start on them.
 */
const START_PATHS = [
  "../../main.ts",
  "../../lib/cli/help.ts",
  "../../lib/cli/list.ts",
  "../../lib/cli/export.ts",
  "../../lib/cli/exec.ts",
  "../../lib/replay/replay.ts",
  "../../lib/exec/run_child.ts",
  "../../lib/exec/exec_or_run.ts",
  "../../backends/mod.ts",
  "../../backends/file.ts",
];

for (const entry of START_PATHS) {
  Deno.test(`${entry.split("/").pop()} reaches no npm: or node: module statically`, async () => {
    const closure = [...await staticClosure(entry)];
    assert.ok(closure.length > 1, "the graph was read");
    assert.deepEqual(closure.filter((s) => s.startsWith("npm:") || s.startsWith("node:")), []);
  });
}

// The credential agent's client runs on every command that opens the file backend: a cache hit
// through it must not load jose (the agent decrypts) nor any `node:` module.
Deno.test("the agent client statically imports neither jose nor node: modules", async () => {
  const closure = await staticClosure("../../lib/agent/client.ts");
  assert.ok([...closure].some((s) => s.endsWith("/lib/agent/protocol.ts")), "the graph was read");
  const heavy = [...closure].filter((s) =>
    s.startsWith("npm:") || s.startsWith("node:") || s.includes("/jose")
  );
  assert.deepEqual(heavy, []);
});
