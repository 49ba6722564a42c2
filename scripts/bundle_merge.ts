/**
 * Regroups the program's code-split modules (what `deno bundle --code-splitting` wrote) so that
 * the commands people run dozens of times a day load a few modules instead of twenty-odd.
 * esbuild splits by reachability: every module a dynamic `import()` names is an entry, and code
 * shared by a different set of entries goes into a chunk of its own, so a cache-hit `export`
 * loaded 22 modules and `list --profiles` 23, most under 3 KB. Each module a run loads costs
 * Deno a file read, a code-cache lookup and an instantiation: measured on a 2-core VM, the same
 * program merged into 2-4 modules per path started 4-7 ms sooner (an empty `deno run` took 27-31
 * ms there).
 *
 * Rollup (build time only: what the ecosystem uses to choose chunks by hand, `manualChunks`,
 * which esbuild does not offer) reads esbuild's output as its input modules and writes new
 * ones: each {@link HOT_PATHS} entry's static imports go into one chunk, minus what an earlier
 * path's chunk holds; everything else is chunked as Rollup chooses. A chunk imports only from
 * earlier paths' chunks, so the hot paths add no import cycle. Dynamic imports come out as
 * imports of a computed URL beside the importing module (see {@link lazyImportCall}), so Deno
 * does not load every module they name at start-up.
 */
import { parse } from "acorn";
import { type OutputChunk, rollup, type RollupLog } from "rollup";

/** One hot path: the source modules (project-relative) whose static imports share a chunk. */
export interface HotPath {
  /** The chunk's name (its file is `<name>-<hash>.js`, the program entry's `main.js`). */
  chunk: string;
  entries: string[];
}

/**
 * The hot paths, most used first: a module two of them need goes into the earlier one's chunk.
 * A cache-hit `export` loads main alone, `exec` exec too; `list --profiles` main and cli; `list`
 * and a full run the vault's too.
 */
export const HOT_PATHS: readonly HotPath[] = [
  // With lib/replay, which serves a cache-hit export or exec from its record: main imports it
  // lazily, but nearly every run needs it (list --profiles too: it holds the code they share).
  // One module of 32 KB instead of 5 + 30 KB: list and exec 1.0-1.6 ms sooner, export the same
  // (median and first quartile of 50 runs, 2-core VM).
  // (The agent's file crypto too, which replay imports only without a passphrase.)
  { chunk: "main", entries: ["main.ts", "lib/replay/replay.ts", "lib/agent/file_crypto.ts"] },
  // What exec adds: the process replacing this one.
  { chunk: "exec", entries: ["lib/exec/exec_or_run.ts"] },
  // The command line, with list (the one command that needs nothing else for --profiles).
  { chunk: "cli", entries: ["lib/cli/mod.ts", "lib/cli/list.ts"] },
  // Opening the vault: the services, the config's section tables, the file backend, export and
  // exec in full.
  {
    chunk: "vault",
    entries: [
      "lib/vault/services.ts",
      "lib/config/section_table.ts",
      "lib/agent/file_crypto.ts",
      "backends/mod.ts",
      "backends/file.ts",
      "lib/fs/lock.ts",
      "lib/cli/export.ts",
      "lib/cli/exec.ts",
    ],
  },
];

/** Options for {@link mergeModules}. */
export interface MergeOptions {
  /** The program's entry module, kept under its name. */
  entry: string;
  /** The module each hot path's entry source is in (project-relative source path: file name). */
  moduleOf: ReadonlyMap<string, string>;
  /** How a dynamic import of a package (not a module beside it) is written; default: as is. */
  packageImport?: (specifier: string) => { left: string; right: string } | undefined;
  hotPaths?: readonly HotPath[];
}

const BASE = "/program/";
/** esbuild's `-<hash>` in its file names, dropped before Rollup adds its own. */
const ESBUILD_HASH = /-[A-Z0-9]{8}$/;

/**
 * `import(new URL(<specifier>, import.meta.url).href)`: the computed form of an import of a
 * module beside this one. Deno loads, before running anything, every module that a literal
 * `import("...")` names; a computed one is loaded when the import runs.
 */
export const lazyImportCall = {
  left: "import(new URL(",
  right: ", import.meta.url).href)",
} as const;

/**
 * The modules regrouped (`{ file name: text }` in, the same out): the entry keeps its name,
 * every other module is `<name>-<hash>.js`. Throws on anything Rollup warns about.
 */
export async function mergeModules(
  modules: Readonly<Record<string, string>>,
  options: MergeOptions,
): Promise<Record<string, string>> {
  const hotPaths = options.hotPaths ?? HOT_PATHS;
  const roots = hotPaths.map((path) =>
    path.entries.map((source) => {
      const file = options.moduleOf.get(source);
      if (!file || !(file in modules)) throw new Error(`no bundled module holds ${source}`);
      return BASE + file;
    })
  );
  if (!(options.entry in modules)) throw new Error(`no entry module ${options.entry}`);
  const problems: string[] = [];
  const build = await rollup({
    input: BASE + options.entry,
    // esbuild's output is tree-shaken already; Rollup only moves it.
    treeshake: false,
    // The entry chunk may export what other chunks import from it (then it holds main's path).
    preserveEntrySignatures: "allow-extension",
    onLog(level: string, log: RollupLog) {
      if (level === "warn") problems.push(`${log.code}: ${log.message}`);
    },
    plugins: [{
      name: "aws-vault-modules",
      resolveId(source: string, importer: string | undefined) {
        if (importer === undefined) return source;
        if (source.startsWith("./")) {
          const file = source.slice(2);
          if (!(file in modules)) throw new Error(`${importer} imports ${source}: not bundled`);
          return BASE + file;
        }
        return { id: source, external: true };
      },
      load(id: string) {
        return id.startsWith(BASE) ? modules[id.slice(BASE.length)] : null;
      },
      renderDynamicImport({ targetModuleId }: { targetModuleId: string | null }) {
        if (targetModuleId?.startsWith(BASE)) return lazyImportCall;
        if (targetModuleId === null) throw new Error("a dynamic import of a computed specifier");
        return options.packageImport?.(targetModuleId) ?? null;
      },
    }],
  });
  try {
    const chunkOf = new Map<string, string>();
    const { output } = await build.generate({
      format: "es",
      compact: true,
      generatedCode: "es2015",
      entryFileNames: "[name].js",
      chunkFileNames: (info) => `${info.name.replace(ESBUILD_HASH, "")}-[hash].js`,
      manualChunks(id, { getModuleInfo }) {
        if (chunkOf.size === 0) {
          assignHotPaths(
            hotPaths,
            roots,
            getModuleInfo,
            chunkOf,
            (id) => reexportOnly(modules[id.slice(BASE.length)]),
          );
        }
        return chunkOf.get(id);
      },
    });
    if (problems.length > 0) throw new Error(`rollup: ${problems.join("; ")}`);
    const merged: Record<string, string> = {};
    for (const file of output) {
      if (file.type !== "chunk") throw new Error(`rollup wrote an asset, ${file.fileName}`);
      merged[file.fileName] = checkedChunk(file);
    }
    if (!(options.entry in merged)) throw new Error(`rollup wrote no ${options.entry}`);
    return merged;
  } finally {
    await build.close();
  }
}

type ModuleInfoOf = (
  id: string,
) => { importedIds: readonly string[]; dynamicallyImportedIds: readonly string[] } | null;

/**
 * Puts each hot path's static closure, minus earlier paths' modules, into its chunk; then each
 * module that only re-exports from those chunks (esbuild writes such a module for an entry
 * whose code is in a shared chunk) into the last of them it imports from, where it costs no
 * module of its own.
 */
function assignHotPaths(
  hotPaths: readonly HotPath[],
  roots: string[][],
  moduleInfo: ModuleInfoOf,
  chunkOf: Map<string, string>,
  isReexportOnly: (id: string) => boolean,
): void {
  const info = (id: string) => {
    const found = moduleInfo(id);
    if (!found) throw new Error(`rollup does not know ${id}`);
    return found;
  };
  const ours = (ids: readonly string[]) => ids.filter((id) => id.startsWith(BASE));
  hotPaths.forEach((path, i) => {
    const stack = [...roots[i]];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (chunkOf.has(id)) continue;
      chunkOf.set(id, path.chunk);
      stack.push(...ours(info(id).importedIds));
    }
  });
  const all = new Set(roots.flat());
  for (const id of all) {
    const { importedIds, dynamicallyImportedIds } = info(id);
    for (const next of ours([...importedIds, ...dynamicallyImportedIds])) all.add(next);
  }
  const rank = new Map(hotPaths.map((path, i) => [path.chunk, i]));
  for (let changed = true; changed;) {
    changed = false;
    for (const id of all) {
      if (chunkOf.has(id) || !isReexportOnly(id)) continue;
      const imported = ours(info(id).importedIds).map((next) => chunkOf.get(next));
      if (imported.length === 0 || imported.some((chunk) => chunk === undefined)) continue;
      const last = Math.max(...imported.map((chunk) => rank.get(chunk!)!));
      chunkOf.set(id, hotPaths[last].chunk);
      changed = true;
    }
  }
}

/** Whether a module's text is only import and export declarations, none declaring anything. */
export function reexportOnly(text: string): boolean {
  const program = parse(text, { ecmaVersion: "latest", sourceType: "module" });
  return program.body.every((statement) =>
    statement.type === "ImportDeclaration" || statement.type === "ExportAllDeclaration" ||
    (statement.type === "ExportNamedDeclaration" && statement.declaration === null)
  );
}

/** The chunk's text, once it is known to import modules beside it only by computed URLs. */
function checkedChunk(chunk: OutputChunk): string {
  const literal = chunk.code.match(/\bimport\(\s*["'`]\.{1,2}\//);
  if (literal) throw new Error(`${chunk.fileName} has a literal dynamic import: ${literal[0]}`);
  return chunk.code;
}
