/**
 * Builds the single-file aws-vault, `dist/aws-vault.js`, with `deno bundle` (esbuild). The file
 * carries everything it runs, at the versions in deno.lock, and needs no registry at run time:
 * - the program is bundled with the AWS SDK left out, and its `require` (CommonJS, e.g.
 *   commander) gets scripts/bundle_node_shims.js in place of `createRequire`, so no Node module
 *   loads at startup (~35 ms);
 * - the AWS SDK packages the program imports lazily are bundled on their own into one ES module,
 *   which is stored in the file gzip-compressed (base64) and imported from a `blob:` URL at the
 *   first AWS call. Inlined, its static `node:` imports would be hoisted and load at every start;
 *   stored as plain text, its 1 MB would cost every start ~30 % (see README "Performance").
 *
 * Usage: deno task bundle [--output dist/aws-vault.js]
 * Run the result with `deno run -A dist/aws-vault.js <args>` (or directly: it has a shebang).
 */

const ROOT = new URL("../", import.meta.url);
const SHIMS = new URL("bundle_node_shims.js", import.meta.url);
/** Packages bundled apart from the program and loaded at their first use. */
const LAZY_PACKAGES = ["@aws-sdk/"];
/** The function the bundle calls in place of `import("@aws-sdk/...")`. */
const SDK_LOADER = "__awsVaultImportSdk";

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
    const program = await denoBundle(
      "main.ts",
      `${work}/program.js`,
      LAZY_PACKAGES.map((p) => `--external=${p}*`),
    );
    const packages = lazyImports(program);
    let sdkModule: string | undefined;
    if (packages.length > 0) {
      const entry = `${work}/sdk_entry.js`;
      await Deno.writeTextFile(entry, sdkEntry(packages));
      sdkModule = prepareSdkModule(await denoBundle(entry, `${work}/sdk.js`, []));
    }
    let text = replaceNodeRequire(program, await Deno.readTextFile(SHIMS));
    if (sdkModule !== undefined) {
      text = `${sdkLoader(await gzipBase64(sdkModule))}\n${replaceLazyImports(text)}`;
    }
    const tmp = `${output}.tmp`;
    await Deno.writeTextFile(tmp, `#!/usr/bin/env -S deno run -A\n${text}`, { mode: 0o755 });
    await Deno.rename(tmp, output);
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return output;
}

/** Runs `deno bundle` with the project's deno.json and deno.lock; returns the output text. */
async function denoBundle(entry: string, output: string, extra: string[]): Promise<string> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      // The versions in deno.lock, or an error: never a newer version from the registry.
      "--frozen",
      "--platform=deno",
      "--config=deno.json",
      ...extra,
      `--output=${output}`,
      entry,
    ],
    cwd: decodeURIComponent(ROOT.pathname),
    env: { NO_COLOR: "1" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!result.success) throw new Error(`deno bundle ${entry} failed with exit code ${result.code}`);
  return await Deno.readTextFile(output);
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

/** The entry module of the SDK bundle: one namespace export per package, named by specifier. */
export function sdkEntry(packages: string[]): string {
  return packages.map((p) => `export * as ${JSON.stringify(p)} from ${JSON.stringify(p)};\n`)
    .join("");
}

/** Rewrites `import("@aws-sdk/x")` to the loader of the embedded SDK module. */
export function replaceLazyImports(bundled: string): string {
  return bundled.replace(
    LAZY_IMPORT,
    (call, specifier: string) =>
      isLazyPackage(specifier) ? `${SDK_LOADER}(${JSON.stringify(specifier)})` : call,
  );
}

/**
 * Makes the SDK bundle loadable from a `blob:` URL: its `createRequire(import.meta.url)` (for
 * the SDK's CommonJS parts, which require only Node built-ins) gets a file URL, since a blob URL
 * is not one. Fails on anything else that would resolve against the module's own URL.
 */
export function prepareSdkModule(bundled: string): string {
  const text = bundled.replace(
    CREATE_REQUIRE_CALL,
    'var __require = __deno_internal_createRequire("file:///");\n',
  );
  const relative = text.match(/\bimport\.meta\b|\bimport\("(?!node:)[^"]*"\)|\bfrom "(?!node:)/);
  if (relative) {
    throw new Error(`the SDK bundle refers to files beside it (${relative[0]}): cannot embed it`);
  }
  return text;
}

/** The code that imports the embedded SDK module once, at the first call. */
export function sdkLoader(gzipBase64: string): string {
  return `// The AWS SDK at the versions in deno.lock: one ES module, gzip, base64 (scripts/bundle.ts).
var __awsVaultSdkGzip = ${JSON.stringify(gzipBase64)};
var __awsVaultSdk;
function ${SDK_LOADER}(specifier) {
  __awsVaultSdk ??= (async () => {
    const gzip = new Blob([Uint8Array.fromBase64(__awsVaultSdkGzip)]);
    const code = await new Response(gzip.stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer();
    const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
    try {
      return await import(url);
    } finally {
      URL.revokeObjectURL(url);
    }
  })();
  return __awsVaultSdk.then((sdk) => sdk[specifier]);
}
`;
}

/** gzip-compresses text and returns it base64-encoded. */
export async function gzipBase64(text: string): Promise<string> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer()).toBase64();
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
