/**
 * Real peers the tests use (moto, aws CLI v2, pass, gnome-keyring, keyctl, jwcrypto). A peer
 * missing on a developer's machine skips the test with a printed reason; under CI=true a
 * missing peer fails the test.
 */

/** Whether we run under CI, where every peer must be present. */
export const IN_CI = Deno.env.get("CI") === "true";

const checked = new Map<string, Promise<string | undefined>>();

/**
 * Checks a peer once per test process. `probe` returns undefined when the peer works, or the
 * reason it does not. Returns true when the test may run; false (after printing why) when it
 * must skip; throws under CI.
 */
export async function havePeer(
  name: string,
  probe: () => Promise<string | undefined>,
): Promise<boolean> {
  if (!checked.has(name)) checked.set(name, probe().catch((e) => String(e)));
  const reason = await checked.get(name);
  if (reason === undefined) return true;
  if (IN_CI) throw new Error(`test peer ${name} is missing under CI: ${reason}`);
  console.log(`SKIP: ${name} is not available: ${reason}`);
  return false;
}

/** A probe that runs a command and succeeds when it exits 0. */
export function commandWorks(cmd: string, args: string[]): () => Promise<string | undefined> {
  return async () => {
    try {
      const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
      return out.success ? undefined : `${cmd} ${args.join(" ")} exited ${out.code}`;
    } catch (e) {
      return `${cmd}: ${e instanceof Error ? e.message : e}`;
    }
  };
}
