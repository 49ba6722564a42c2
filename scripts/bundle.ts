/**
 * Builds the single-file aws-vault, `dist/aws-vault.js`, with `deno bundle` (esbuild). The file
 * carries everything it runs, at the versions in deno.lock, and needs no registry at run time.
 * Start-up is what it is built for: V8 parses a module's whole text at every start (~0.1 M
 * instructions per KB), so a 0.5 MB one-module bundle cost more than `deno run main.ts` itself.
 * - The program is bundled code-split and minified (one module per lazily loaded command, plus
 *   shared chunks), with the AWS SDK left out; a CommonJS `require`, if one appears, gets
 *   scripts/bundle_node_shims.js in place of `createRequire`, so no Node module loads at startup.
 * - Those modules are regrouped by Rollup (scripts/bundle_merge.ts) so that each hot path (a
 *   cache-hit export or exec, the command line, opening the vault) is one module: a cache-hit
 *   export loads 2 modules instead of 22, `list --profiles` 3 instead of 23. Dynamic imports come
 *   out as imports of a computed URL (Deno loads every module a literal `import()` names).
 * - The program's functions (all but class methods, getters and setters) are marked for V8 to
 *   compile with their module (scripts/bundle_eager.ts), so Deno's code cache holds them: a
 *   function compiled at its first call is compiled again at every start.
 * - The AWS SDK packages the program imports lazily are bundled on their own into one more
 *   module, `sdk.js`; `import("@aws-sdk/x")` becomes an import of `./sdk.js` and a pick.
 * - All modules travel as one brotli + base64 archive in a line comment (skipped, not parsed)
 *   after a small bootstrap (scripts/bundle_bootstrap.js), with one short line after it; the
 *   bootstrap unpacks them once per version into a per-user cache directory and imports the
 *   program from there.
 * - The root help (`--help`, `help`) is made here from the command table, which is all it depends
 *   on, and printed by the bootstrap itself: that call loads no module.
 *
 * Usage: deno task bundle [--output dist/aws-vault.js]
 * Run the result with `deno run -A dist/aws-vault.js <args>` (or directly: it has a shebang).
 */

import { brotliCompressSync, constants as zlib } from "node:zlib";
import { SDK_PARTS } from "../lib/aws/sdk_parts.ts";
import { assertNoImportCycle, eagerFunctions } from "./bundle_eager.ts";
import { lazyImportCall, mergeModules } from "./bundle_merge.ts";
import { helpText } from "../lib/cli/help.ts";
import { ROOT as COMMAND_TABLE } from "../lib/cli/table.ts";

const ROOT = new URL("../", import.meta.url);
const SHIMS = new URL("bundle_node_shims.js", import.meta.url);
const BOOTSTRAP = new URL("bundle_bootstrap.js", import.meta.url);
/** Packages bundled apart from the program and loaded at their first use. */
const LAZY_PACKAGES = ["@aws-sdk/"];
/**
 * The SDK clients' default credential chain (environment, ~/.aws files, SSO, processes, web
 * identity, ECS and EC2 metadata), which their runtime config imports. aws-vault gives every
 * client its credentials (or calls without any), so the chain is left out of the SDK module:
 * 106 KB of its 513 (25 KB of the file, which every start reads), and no path on which a
 * client could pick up ambient credentials instead of the vault's.
 */
const DEFAULT_CREDENTIALS_PACKAGE = "@aws-sdk/credential-provider-node";
/** The module holding the lazily loaded packages, beside the program's modules. */
const SDK_MODULE = "sdk.js";
/** The program's entry module, as `deno bundle` names it. */
const PROGRAM_ENTRY = "main.js";
/** What starts the archive's line (after `//`). */
const ARCHIVE_MARK = "aws-vault-archive:";
/** The file's last line (after `//`), short: see singleFile. */
const ARCHIVE_END = "aws-vault-archive-end";
/** Module names the bootstrap accepts (flat, no path). */
const MODULE_NAME = /^[A-Za-z0-9_.-]+\.js$/;

// What `deno bundle --platform deno` emits for CommonJS `require` (deno 2.9).
const CREATE_REQUIRE_IMPORT =
  'import { createRequire as __deno_internal_createRequire } from "node:module";\n';
const CREATE_REQUIRE_CALL = "var __require = __deno_internal_createRequire(import.meta.url);\n";
// What esbuild emits instead when the bundle has externals: it calls a `require` in scope.
const ESBUILD_DYNAMIC_REQUIRE = 'typeof require !== "undefined" ? require';

/** Options for {@link bundle}. */
export interface BundleOptions {
  /** Output file; default `dist/aws-vault.js` in the project. */
  output?: string;
}

/** Builds the bundle and returns the path of the file written. */
export async function bundle(options: BundleOptions = {}): Promise<string> {
  const output = options.output ?? decodeURIComponent(new URL("dist/aws-vault.js", ROOT).pathname);
  await Deno.mkdir(dirname(output), { recursive: true });
  const work = await Deno.makeTempDir({ prefix: "aws-vault-bundle-" });
  try {
    await denoBundle("main.ts", [
      `--outdir=${work}/program`,
      "--code-splitting",
      // Our error classes set their names themselves; minified code parses faster. (Not
      // --keep-names: its __name() calls on every function cost ~15 % of a start.)
      "--minify",
      ...LAZY_PACKAGES.map((p) => `--external=${p}*`),
      // Read by programModules (which source is in which module), not shipped.
      "--sourcemap=external",
    ]);
    const { modules: split, moduleOf } = await programModules(`${work}/program`);
    const packages = [...new Set(Object.values(split).flatMap(lazyImports))].sort();
    if (packages.length > 0) {
      const entry = `${work}/sdk_entry.js`;
      await Deno.writeTextFile(entry, sdkEntry(packages));
      await denoBundle(entry, [
        "--minify",
        `--external=${DEFAULT_CREDENTIALS_PACKAGE}`,
        `--output=${work}/sdk.js`,
      ]);
    }
    const shims = await Deno.readTextFile(SHIMS);
    assertNoImportCycle(split);
    for (const [name, text] of Object.entries(split)) split[name] = replaceNodeRequire(text, shims);
    const modules = await mergeModules(split, {
      entry: PROGRAM_ENTRY,
      moduleOf,
      packageImport: sdkImport,
    });
    assertNoImportCycle(modules);
    for (const [name, text] of Object.entries(modules)) modules[name] = eagerFunctions(text);
    if (SDK_MODULE in modules) throw new Error(`the program has a module named ${SDK_MODULE}`);
    if (packages.length > 0) {
      modules[SDK_MODULE] = prepareSdkModule(await Deno.readTextFile(`${work}/sdk.js`));
    }
    const text = await singleFile(modules, await Deno.readTextFile(BOOTSTRAP));
    const tmp = `${output}.tmp`;
    await Deno.writeTextFile(tmp, text, { mode: 0o755 });
    await Deno.rename(tmp, output);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return output;
}

/**
 * The modules `deno bundle --code-splitting --sourcemap=external` wrote into dir (`{ file name:
 * text }`), and which module each project source file is in (from their source maps).
 */
async function programModules(
  dir: string,
): Promise<{ modules: Record<string, string>; moduleOf: Map<string, string> }> {
  const modules: Record<string, string> = {};
  const moduleOf = new Map<string, string>();
  const root = decodeURIComponent(ROOT.pathname);
  for await (const entry of Deno.readDir(dir)) {
    const module = entry.name.replace(/\.map$/, "");
    if (!entry.isFile || !MODULE_NAME.test(module)) {
      throw new Error(`deno bundle wrote ${entry.name}: expected only flat .js modules`);
    }
    const text = await Deno.readTextFile(`${dir}/${entry.name}`);
    if (module === entry.name) {
      modules[module] = text;
      continue;
    }
    const { sources } = JSON.parse(text) as { sources: string[] };
    for (const source of sources) {
      const path = decodeURIComponent(new URL(source, `file://${dir}/`).pathname);
      if (path.startsWith(root)) moduleOf.set(path.slice(root.length), module);
    }
  }
  if (!(PROGRAM_ENTRY in modules)) throw new Error(`deno bundle wrote no ${PROGRAM_ENTRY}`);
  return { modules, moduleOf };
}

/**
 * The single file: the bootstrap (scripts/bundle_bootstrap.js), then the modules as one brotli +
 * base64 archive in a line comment, which V8 skips far faster than it parses code or strings.
 */
export async function singleFile(
  modules: Record<string, string>,
  bootstrap: string,
): Promise<string> {
  const json = new TextEncoder().encode(
    JSON.stringify(Object.fromEntries(Object.entries(modules).sort())),
  );
  // Brotli at its best setting: ~20 % smaller than gzip -9 here, and every start reads the
  // whole file (a 390 KB one measured up to +6 ms against an empty one).
  const packed = new Uint8Array(brotliCompressSync(json, {
    params: {
      [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
      [zlib.BROTLI_PARAM_LGWIN]: zlib.BROTLI_MAX_WINDOW_BITS,
      [zlib.BROTLI_PARAM_SIZE_HINT]: json.length,
    },
  }));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", packed));
  const id = Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  // The bootstrap runs at every start too: its functions go into the code cache as well.
  const head = eagerFunctions(
    bootstrap
      // A function, so that `$` in the help is not a replacement pattern.
      .replace('"@@ROOT_HELP@@"', () => JSON.stringify(helpText([COMMAND_TABLE])))
      .replace("@@PROGRAM_ID@@", id)
      .replace("@@PROGRAM_ENTRY@@", PROGRAM_ENTRY)
      .replace("@@ARCHIVE_MARK@@", ARCHIVE_MARK)
      .replace("@@ARCHIVE_END@@", ARCHIVE_END),
  );
  if (head.includes("@@")) {
    throw new Error("scripts/bundle_bootstrap.js has an unknown placeholder");
  }
  // A line comment, not a block one: a file cut short (a broken download) still parses, and
  // the bootstrap says what is wrong. A short line after it: with the archive as the file's last
  // line, every start cost ~2 ms more here (measured; most likely the runtime looking through a
  // module's last line for a source map comment).
  return `#!/usr/bin/env -S deno run -A\n${head}\n//${ARCHIVE_MARK}${packed.toBase64()}\n` +
    `//${ARCHIVE_END}\n`;
}

/** Runs `deno bundle` with the project's deno.json and deno.lock. */
async function denoBundle(entry: string, extra: string[]): Promise<void> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      // The versions in deno.lock, or an error: never a newer version from the registry.
      "--frozen",
      "--platform=deno",
      "--config=deno.json",
      ...extra,
      entry,
    ],
    cwd: decodeURIComponent(ROOT.pathname),
    env: { NO_COLOR: "1" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!result.success) throw new Error(`deno bundle ${entry} failed with exit code ${result.code}`);
}

/** Puts the shimmed `require` where the bundle's CommonJS modules find it. */
export function replaceNodeRequire(bundled: string, shims: string): string {
  if (bundled.includes(CREATE_REQUIRE_CALL) && bundled.includes(CREATE_REQUIRE_IMPORT)) {
    return bundled.replace(CREATE_REQUIRE_IMPORT, "")
      .replace(CREATE_REQUIRE_CALL, `${shims}\nvar __require = require;\n`);
  }
  if (bundled.includes(ESBUILD_DYNAMIC_REQUIRE)) return `${shims}\n${bundled}`;
  if (!bundled.includes("node:module")) return bundled; // no CommonJS in the bundle
  throw new Error("deno bundle's require prelude changed: update scripts/bundle.ts");
}

const LAZY_IMPORT = /\bimport\("([^"]+)"\)/g;

function isLazyPackage(specifier: string): boolean {
  return LAZY_PACKAGES.some((p) => specifier.startsWith(p));
}

/** The lazily imported SDK packages that the program bundle left out, sorted. */
export function lazyImports(bundled: string): string[] {
  const found = new Set<string>();
  for (const [, specifier] of bundled.matchAll(LAZY_IMPORT)) {
    if (isLazyPackage(specifier)) found.add(specifier);
  }
  const missed = bundled.split("\n").filter((l) =>
    /^import .* from "@aws-sdk\//.test(l) || /\brequire\("@aws-sdk\//.test(l)
  );
  if (missed.length > 0) {
    throw new Error(`the AWS SDK must be imported with await import(): ${missed[0]}`);
  }
  return [...found].sort();
}

/**
 * The entry module of the SDK bundle: per package, an object of the names lib/aws/sdk_parts.ts
 * lists, exported under the package's specifier. Member reads of a namespace import let esbuild
 * drop the rest of each client (a namespace re-export would keep every command).
 */
export function sdkEntry(
  packages: string[],
  parts: Readonly<Record<string, readonly string[]>> = SDK_PARTS,
): string {
  return packages.map((p, i) => {
    const names = parts[p];
    if (!names) throw new Error(`${p} is imported but lib/aws/sdk_parts.ts does not list it`);
    const members = names.map((n) => `${JSON.stringify(n)}: p${i}[${JSON.stringify(n)}]`);
    return `import * as p${i} from ${JSON.stringify(p)};
` +
      `const o${i} = { ${members.join(", ")} };
` +
      `export { o${i} as ${JSON.stringify(p)} };
`;
  }).join("");
}

/**
 * How the program imports an SDK package it left out: from the SDK module beside it, and a pick
 * (`m["@aws-sdk/x"]`), by a computed URL (see lazyImportCall); undefined for anything else.
 */
function sdkImport(specifier: string): { left: string; right: string } | undefined {
  if (!isLazyPackage(specifier)) return undefined;
  return {
    left: `${lazyImportCall.left}${JSON.stringify(`./${SDK_MODULE}`)}${lazyImportCall.right}` +
      ".then((m) => m[",
    right: "])",
  };
}

/**
 * What the SDK module gets for the default credential chain's `defaultProvider`: a provider
 * that fails, with the reason (see DEFAULT_CREDENTIALS_PACKAGE).
 */
const NO_DEFAULT_CREDENTIALS = "()=>()=>Promise.reject(new Error(" +
  JSON.stringify(
    "the AWS SDK's default credential chain is not in this build: aws-vault passes the credentials of every call itself",
  ) + "))";

/**
 * Makes the SDK module whole: its imports of the default credential chain (left out, see
 * DEFAULT_CREDENTIALS_PACKAGE) become {@link NO_DEFAULT_CREDENTIALS}, and then nothing in it may
 * resolve against its own URL (it is unpacked beside the program's modules), except the
 * `createRequire(import.meta.url)` of its CommonJS parts, which require only Node built-ins.
 */
export function prepareSdkModule(bundled: string): string {
  const name = DEFAULT_CREDENTIALS_PACKAGE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const stubbed = bundled.replace(
    new RegExp(
      `\\bimport\\s*\\{\\s*defaultProvider(?:\\s+as\\s+([\\w$]+))?\\s*\\}\\s*from\\s*"${name}"\\s*;?`,
      "g",
    ),
    (_, alias: string | undefined) =>
      `var ${alias ?? "defaultProvider"}=${NO_DEFAULT_CREDENTIALS};`,
  );
  // (The name itself stays: the clients' package.json, inlined for their version, lists it.)
  if (new RegExp(`\\bfrom\\s*"${name}"|\\bimport\\(\\s*"${name}"`).test(stubbed)) {
    throw new Error(
      `the SDK bundle uses ${DEFAULT_CREDENTIALS_PACKAGE} for more than defaultProvider: cannot leave it out`,
    );
  }
  const alias = stubbed.match(
    /import\s*\{\s*createRequire as ([\w$]+)\s*\}\s*from\s*"node:module"/,
  );
  const rest = alias ? stubbed.replaceAll(`${alias[1]}(import.meta.url)`, "") : stubbed;
  const relative = rest
    .match(/\bimport\.meta\b|\bimport\("(?!node:)[^"]*"\)|\bfrom\s*"(?!node:)/);
  if (relative) {
    throw new Error(`the SDK bundle refers to files beside it (${relative[0]}): cannot ship it`);
  }
  return stubbed;
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--output");
  const output = i >= 0 ? Deno.args[i + 1] : undefined;
  try {
    console.log(`wrote ${await bundle({ output })}`);
  } catch (err) {
    console.error(`bundle: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
