/**
 * A throwaway password store for tests: its own GNUPGHOME with a passphrase-less batch key, and
 * its own PASSWORD_STORE_DIR initialised for that key. `cleanup()` kills the gpg-agent it started
 * and removes both directories.
 */
import { commandWorks, type Peer, requirePeers } from "./peers.ts";

/** A ready password store. */
export interface PassStore {
  /** Root of everything (HOME for subprocesses). */
  home: string;
  gnupgHome: string;
  storeDir: string;
  /** Environment for pass/gpg subprocesses. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** pass and gpg. */
export const PASS_GPG: Peer = {
  name: "pass+gpg",
  probe: async () =>
    await commandWorks("pass", ["version"])() ?? await commandWorks("gpg", ["--version"])(),
};

/** Creates a store with a fresh key; throws when pass or gpg is missing. */
export async function makePassStore(): Promise<PassStore> {
  await requirePeers(PASS_GPG);
  const home = await Deno.makeTempDir({ prefix: "awsvault-pass-" });
  const gnupgHome = `${home}/gnupg`;
  const storeDir = `${home}/store`;
  await Deno.mkdir(gnupgHome, { mode: 0o700 });
  const env = { HOME: home, GNUPGHOME: gnupgHome, PASSWORD_STORE_DIR: storeDir };
  const cleanup = async () => {
    await new Deno.Command("gpgconf", { args: ["--kill", "all"], env, stderr: "null" }).output()
      .catch(() => {});
    await Deno.remove(home, { recursive: true }).catch(() => {});
  };
  try {
    await run("gpg", [
      "--batch",
      "--pinentry-mode",
      "loopback",
      "--passphrase",
      "",
      "--quick-gen-key",
      "test <t@example.invalid>",
      "default",
      "default",
      "never",
    ], env);
    const listing = await run("gpg", ["--batch", "--with-colons", "--list-keys"], env);
    const fpr = listing.split("\n").find((l) => l.startsWith("fpr:"))?.split(":")[9];
    if (!fpr) throw new Error("gpg made no key");
    await run("pass", ["init", fpr], env);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { home, gnupgHome, storeDir, env, cleanup };
}
