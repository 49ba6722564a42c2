/** scripts/bundle_merge.ts: hot paths regrouped into few modules, imports computed, code kept. */
import assert from "node:assert/strict";
import { type HotPath, mergeModules, reexportOnly } from "../../scripts/bundle_merge.ts";
import { assertNoImportCycle, staticImports } from "../../scripts/bundle_eager.ts";

// What esbuild writes for a program whose entry imports `a` lazily and `a` imports `b` lazily:
// shared code in chunks, and a re-export stub for an entry whose code is in a chunk.
const SPLIT: Record<string, string> = {
  "main.js": 'import{s}from"./chunk-SHARED01.js";' +
    'export async function main(){const a=await import("./a-AAAAAAAA.js");' +
    'return s("main")+await a.run()}',
  "chunk-SHARED01.js": 'export function s(x){return "["+x+"]"}',
  "chunk-ACHUNK01.js": 'import{s}from"./chunk-SHARED01.js";export function runA(){return s("a")}' +
    'export const label="b";',
  "a-AAAAAAAA.js": 'import{runA}from"./chunk-ACHUNK01.js";import{s}from"./chunk-SHARED01.js";' +
    'export async function run(){const b=await import("./b-BBBBBBBB.js");' +
    'const sdk=await import("@aws-sdk/client-sts");return runA()+s(b.name)+sdk.x}',
  "b-BBBBBBBB.js": 'export{label as name}from"./chunk-ACHUNK01.js";',
};

/** SPLIT regrouped by these hot paths (main.ts is main.js, a.ts is a's entry module). */
function mergeSplit(hotPaths: HotPath[]): Promise<Record<string, string>> {
  return mergeModules(SPLIT, {
    entry: "main.js",
    moduleOf: new Map([["main.ts", "main.js"], ["a.ts", "a-AAAAAAAA.js"]]),
    packageImport: (specifier) =>
      specifier.startsWith("@aws-sdk/") ? { left: "Promise.resolve({x:", right: "})" } : undefined,
    hotPaths,
  });
}

/** What the merged modules' main() returns: the same as the split ones'. */
async function runMerged(merged: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(merged)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const { main } = await import(`file://${dir}/main.js`);
    return await main();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("mergeModules: each hot path in one module, dynamic imports computed", async () => {
  const merged = await mergeSplit([
    { chunk: "main", entries: ["main.ts"] },
    { chunk: "a", entries: ["a.ts"] },
  ]);
  // main with the shared chunk; a with its chunk and b's re-export stub; nothing else.
  assert.deepEqual(Object.keys(merged).length, 2);
  assert.ok("main.js" in merged);
  const a = Object.keys(merged).find((name) => name !== "main.js")!;
  assert.match(a, /^a-[A-Za-z0-9_-]+\.js$/);
  assert.deepEqual(staticImports(merged[a]), ["./main.js"]);
  assert.match(
    merged["main.js"],
    new RegExp(`import\\(new URL\\('\\./${a}', import\\.meta\\.url\\)`),
  );
  assert.doesNotMatch(Object.values(merged).join("\n"), /import\(\s*['"]/);
  assertNoImportCycle(merged);
  assert.equal(await runMerged(merged), "[main][a][b]@aws-sdk/client-sts");
});

Deno.test("mergeModules: a lazily imported module on main's path joins main's module", async () => {
  // main imports `a` with import(), yet both are one hot path (as main.ts and lib/replay are).
  const merged = await mergeSplit([{ chunk: "main", entries: ["main.ts", "a.ts"] }]);
  // b's stub re-exports from a chunk now in main: it joins main too.
  assert.deepEqual(Object.keys(merged), ["main.js"]);
  assert.deepEqual(staticImports(merged["main.js"]), []);
  assert.doesNotMatch(merged["main.js"], /import\(/);
  assert.equal(await runMerged(merged), "[main][a][b]@aws-sdk/client-sts");
});

Deno.test("mergeModules: a hot path source that no module holds is an error", async () => {
  await assert.rejects(
    () =>
      mergeModules(SPLIT, {
        entry: "main.js",
        moduleOf: new Map([["main.ts", "main.js"]]),
        hotPaths: [{ chunk: "x", entries: ["missing.ts"] }],
      }),
    /no bundled module holds missing\.ts/,
  );
});

Deno.test("reexportOnly: only import and export-from declarations", () => {
  assert.equal(
    reexportOnly('import"./a.js";export{a as b}from"./c.js";export*from"./d.js";'),
    true,
  );
  assert.equal(reexportOnly('import{a}from"./a.js";export{a};'), true);
  assert.equal(reexportOnly("export const a=1;"), false);
  assert.equal(reexportOnly('import"./a.js";console.log(1);'), false);
});
