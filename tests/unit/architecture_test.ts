/**
 * Imports run one way (../shared/design.md): cli → replay → vault/exec/server/agent → config/store/
 * prompt/aws → backends → the ground floor (lib/*.ts: credentials, errors, durations, time,
 * encodings, runtime, terminal; lib/fs, lib/process). Checked on the real module graph
 * (`deno info --json`, static and dynamic imports) of every module under lib/ and backends/.
 */
import assert from "node:assert/strict";

/** Where a module sits: its layer (higher imports lower) and its folder within the layer. */
interface Place {
  rank: number;
  unit: string;
}

const RANKS: Record<string, number> = {
  cli: 4,
  // Between the command line and what it runs: it serves export and exec again from a record.
  replay: 3.5,
  vault: 3,
  exec: 3,
  server: 3,
  agent: 3,
  console: 3,
  config: 2,
  store: 2,
  prompt: 2,
  aws: 2,
  backends: 1,
  fs: 0,
  process: 0,
};

/** Imports between folders of one layer that are part of the design (servers serve providers). */
const SIBLINGS = new Set(["server>vault", "agent>vault", "agent>server"]);

/** The place of a project path (relative to the root), undefined for tests and scripts. */
function placeOf(path: string): Place | undefined {
  if (path === "main.ts") return { rank: RANKS.cli, unit: "cli" };
  if (path.startsWith("backends/")) return { rank: RANKS.backends, unit: "backends" };
  if (/^lib\/[^/]+\.ts$/.test(path)) return { rank: 0, unit: "ground" };
  const folder = /^lib\/([^/]+)\//.exec(path)?.[1];
  if (folder === undefined) return undefined;
  const rank = RANKS[folder];
  if (rank === undefined) throw new Error(`lib/${folder}/ has no layer: add it to RANKS`);
  return { rank, unit: folder };
}

/** Why importing `to` from `from` runs against the layers, or undefined when it may. */
function violation(from: string, to: string): string | undefined {
  const a = placeOf(from);
  const b = placeOf(to);
  if (!a || !b || a.unit === b.unit || b.rank < a.rank) return undefined;
  if (b.rank === a.rank && (a.rank === 0 || SIBLINGS.has(`${a.unit}>${b.unit}`))) return undefined;
  return b.rank === a.rank
    ? `${from} imports ${to}: a sibling folder of the same layer`
    : `${from} imports ${to}: a higher layer (${a.unit} is below ${b.unit})`;
}

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

const ROOT = new URL("../../", import.meta.url);

function relative(specifier: string): string | undefined {
  return specifier.startsWith(ROOT.href) ? specifier.slice(ROOT.href.length) : undefined;
}

async function projectModules(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory) await walk(`${path}/`);
      else if (entry.name.endsWith(".ts")) found.push(path);
    }
  };
  await walk("lib/");
  await walk("backends/");
  return ["main.ts", ...found.sort()];
}

/** Every import edge (from, to) among project modules, read from `deno info --json`. */
async function importEdges(paths: string[]): Promise<[string, string][]> {
  const edges = new Map<string, [string, string]>();
  const covered = new Set<string>();
  for (const path of paths) {
    if (covered.has(path)) continue;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", new URL(path, ROOT).pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    for (const m of info.modules) {
      const from = relative(m.specifier);
      if (from === undefined) continue;
      covered.add(from);
      for (const d of m.dependencies ?? []) {
        for (const target of [d.code?.specifier, d.type?.specifier]) {
          const to = target === undefined ? undefined : relative(target);
          if (to !== undefined) edges.set(`${from} ${to}`, [from, to]);
        }
      }
    }
  }
  return [...edges.values()];
}

Deno.test("every import runs down the layers", async () => {
  const paths = await projectModules();
  const edges = await importEdges(paths);
  assert.ok(edges.some(([from]) => from === "main.ts"), "the graph was read");
  for (const path of paths) placeOf(path); // every folder has a layer
  assert.deepEqual(edges.map(([from, to]) => violation(from, to)).filter(Boolean), []);
});

Deno.test("the check refuses the upward imports the layers were built to remove", () => {
  const upward: [string, string][] = [
    ["lib/store/credentials.ts", "lib/vault/credentials.ts"],
    ["backends/mod.ts", "lib/cli/global.ts"],
    ["backends/file.ts", "lib/cli/global.ts"],
    ["backends/mod.ts", "lib/config/config_file.ts"],
    ["backends/file.ts", "lib/store/atomic.ts"],
    ["lib/vault/for_profile.ts", "lib/exec/credential_env.ts"],
    ["lib/exec/credential_env.ts", "lib/vault/credentials.ts"],
    ["lib/prompt/drivers.ts", "lib/exec/path_lookup.ts"],
    ["lib/prompt/used_codes.ts", "lib/store/atomic.ts"],
    ["lib/aws/sts_client.ts", "lib/vault/credentials.ts"],
    ["lib/runtime.ts", "lib/prompt/tty.ts"],
    ["lib/fs/lock.ts", "lib/store/mod.ts"],
  ];
  for (const [from, to] of upward) assert.ok(violation(from, to), `${from} -> ${to}`);
  const fine: [string, string][] = [
    ["lib/cli/exec.ts", "lib/vault/for_profile.ts"],
    ["lib/server/ecs.ts", "lib/vault/for_profile.ts"],
    ["lib/store/credentials.ts", "backends/keyring.ts"],
    ["backends/file.ts", "lib/fs/atomic.ts"],
    ["lib/fs/lock.ts", "lib/errors.ts"],
    ["lib/vault/chain.ts", "lib/vault/assume_role.ts"],
  ];
  for (const [from, to] of fine) assert.equal(violation(from, to), undefined, `${from} -> ${to}`);
  assert.throws(() => placeOf("lib/newfolder/x.ts"), /has no layer/);
});
