/**
 * The release build: one self-contained executable per OS with `deno compile`, written to
 * `dist/aws-vault-<target>` (`.exe` on Windows). `deno compile` downloads the Deno runtime for
 * each target, so it needs access to Deno's download site; CI, which has none, proves the
 * single-file path with scripts/bundle.ts instead.
 *
 * Usage: deno task compile [--target x86_64-unknown-linux-gnu]...
 */

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);

/** Every target a release ships. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** The output file for a target. */
export function outputFor(target: string): string {
  return `dist/aws-vault-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** Compiles main.ts for one target; returns the output path or throws. */
export async function compile(target: string): Promise<string> {
  const output = outputFor(target);
  const result = await new Deno.Command(Deno.execPath(), {
    // -A: aws-vault reads config and keyrings, runs children and serves credentials on loopback.
    args: ["compile", "-A", "--quiet", "--target", target, "--output", output, "main.ts"],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!result.success) throw new Error(`deno compile --target ${target} failed`);
  return output;
}

if (import.meta.main) {
  const targets: string[] = [];
  for (let i = 0; i < Deno.args.length; i++) {
    if (Deno.args[i] === "--target" && Deno.args[i + 1]) targets.push(Deno.args[++i]);
    else {
      console.error(`compile: unknown argument ${Deno.args[i]} (use --target <target>)`);
      Deno.exit(2);
    }
  }
  const unknown = targets.filter((t) => !(TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) {
    console.error(`compile: unknown target ${unknown.join(", ")}; one of ${TARGETS.join(", ")}`);
    Deno.exit(2);
  }
  let failed = 0;
  for (const target of targets.length > 0 ? targets : TARGETS) {
    try {
      console.log(`wrote ${await compile(target)}`);
    } catch (err) {
      console.error(`compile: ${err instanceof Error ? err.message : err}`);
      failed++;
    }
  }
  Deno.exit(failed === 0 ? 0 : 1);
}
