/**
 * Builds the single-file aws-vault, `dist/aws-vault.js`, with `deno bundle` (esbuild), then:
 * - refuses a bundle that needs CommonJS (`createRequire` from `node:module`): its Node
 *   compatibility layer would load at every start;
 * - keeps the AWS SDK out of the bundle and pins its lazy `import()`s to the npm versions in
 *   deno.json: bundled in, its static `node:` imports would load at every start.
 *
 * Usage: deno task bundle [--output dist/aws-vault.js]
 * Run the result with `deno run -A dist/aws-vault.js <args>` (or directly: it has a shebang).
 */

const ROOT = new URL("../", import.meta.url);
/** Packages left out of the bundle and imported from npm when first used. */
const EXTERNAL_PACKAGES = ["@aws-sdk/"];

/** Options for {@link bundle}. */
export interface BundleOptions {
  /** Output file; default `dist/aws-vault.js` in the project. */
  output?: string;
}

/** Builds the bundle and returns the path of the file written. */
export async function bundle(options: BundleOptions = {}): Promise<string> {
  const output = options.output ?? decodeURIComponent(new URL("dist/aws-vault.js", ROOT).pathname);
  const rawPath = `${output}.raw.tmp`;
  await Deno.mkdir(dirname(output), { recursive: true });
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform=deno",
      ...EXTERNAL_PACKAGES.map((p) => `--external=${p}*`),
      `--output=${rawPath}`,
      "main.ts",
    ],
    cwd: decodeURIComponent(ROOT.pathname),
    env: { NO_COLOR: "1" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!result.success) throw new Error(`deno bundle failed with exit code ${result.code}`);
  try {
    const raw = await Deno.readTextFile(rawPath);
    const imports = await importMap();
    const text = pinExternalImports(refuseCommonJs(raw), imports);
    const tmp = `${output}.tmp`;
    await Deno.writeTextFile(tmp, `#!/usr/bin/env -S deno run -A\n${text}`, { mode: 0o755 });
    await Deno.rename(tmp, output);
  } finally {
    await Deno.remove(rawPath).catch(() => {});
  }
  return output;
}

/** The bundle, unless it needs CommonJS (whose `require` loads Deno's Node layer at start). */
export function refuseCommonJs(bundled: string): string {
  // deno bundle's createRequire prelude, or esbuild's call of a `require` in scope.
  if (
    bundled.includes('from "node:module"') ||
    bundled.includes('typeof require !== "undefined" ? require')
  ) {
    throw new Error("the bundle needs CommonJS (node:module): a CommonJS package is on the path");
  }
  return bundled;
}

/**
 * Rewrites `import("@aws-sdk/x")` to the `npm:` specifier deno.json maps it to. The specifier is
 * wrapped in `String()` so Deno resolves it only when the import runs: a literal `npm:` import
 * makes Deno set up npm resolution before the program starts (~17 ms outside the project).
 */
export function pinExternalImports(bundled: string, imports: Record<string, string>): string {
  return bundled.replace(/\bimport\("([^"]+)"\)/g, (call, specifier: string) => {
    if (!EXTERNAL_PACKAGES.some((p) => specifier.startsWith(p))) return call;
    const target = imports[specifier];
    if (!target) throw new Error(`${specifier} is not in deno.json "imports"`);
    return `import(String(${JSON.stringify(target)}))`;
  });
}

async function importMap(): Promise<Record<string, string>> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  return config.imports ?? {};
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
