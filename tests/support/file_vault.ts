/** A file vault in a temp directory for the file backend's tests, with a scripted terminal. */
import { FileKeyring } from "../../backends/file.ts";
import { UserError } from "../../lib/errors.ts";

/** The passphrase of test vaults. */
export const PASS = "correct horse";

/** A terminal that answers prompts from a list, and the prompts it was shown. */
export interface Answering {
  prompts: string[];
  terminal: { readLine(prompt: string, options?: { echo?: boolean }): Promise<string> };
}

/** A vault opened for a test, and the prompts its terminal was shown. */
export interface TestVault {
  keyring: FileKeyring;
  prompts: string[];
}

/** A terminal that answers prompts from a list and records them. */
export function answering(answers: string[]): Answering {
  const prompts: string[] = [];
  return {
    prompts,
    terminal: {
      readLine(prompt: string, options?: { echo?: boolean }): Promise<string> {
        prompts.push(`${prompt}${options?.echo === false ? "[hidden]" : ""}`);
        const a = answers.shift();
        return a === undefined
          ? Promise.reject(new UserError("no terminal in this test"))
          : Promise.resolve(a);
      },
    },
  };
}

/** A file vault in `dir` with this passphrase (null: ask the terminal, which gives `answers`). */
export function keyringIn(
  dir: string,
  passphrase: string | null = PASS,
  answers: string[] = [],
): TestVault {
  const t = answering(answers);
  return {
    keyring: new FileKeyring(dir, { passphrase: passphrase ?? undefined, terminal: t.terminal }),
    prompts: t.prompts,
  };
}

/** Runs fn with a vault directory path inside a fresh temp dir (not created), removed after. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "file-backend-" });
  try {
    await fn(`${root}/keys`);
  } finally {
    await Deno.chmod(root, 0o700).catch(() => {});
    await Deno.remove(root, { recursive: true });
  }
}

/** One base64url segment of a compact JWE, decoded. */
export function segment(jwe: string, i: number): Uint8Array {
  const s = jwe.split(".")[i].replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(s + "=".repeat((4 - s.length % 4) % 4)), (c) => c.charCodeAt(0));
}
