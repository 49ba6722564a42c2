/**
 * A throwaway, uniquely named kernel session keyring for tests of the keyctl backend through the
 * CLI. The CLI always uses a ring named `aws-vault` inside its scope keyring, so with
 * `--keyctl-scope session` each run joins this session keyring (`keyctl session <name> ...`)
 * and the user's real `aws-vault` ring in `@u` is never touched.
 *
 * A named session keyring lives only while something holds it, so a holder process keeps it
 * between CLI runs, and it is joinable by name only with user "search" permission, which the
 * holder grants. `cleanup()` clears it and stops the holder, which lets the kernel free it.
 */
import { commandPeer, type Peer, requirePeers } from "./peers.ts";
import { readUntil } from "./read_until.ts";

/** A named session keyring kept alive for the test. */
export interface KeyctlSession {
  /** The keyring's name. */
  name: string;
  /** Prefix for a command line that runs the command inside this session keyring. */
  wrapper: string[];
  /** Empties the keyring and stops its holder. */
  cleanup(): Promise<void>;
}

/** keyctl, with a user keyring this process can reach. */
export const KEYCTL: Peer = commandPeer("keyctl", "keyctl", ["show", "@u"]);

/** `keyctl session` reports the keyring it joined on stderr; this drops that line. */
export function withoutJoinNotice(stderr: string): string {
  return stderr.replace(/^Joined session keyring: \d+\n/m, "");
}

/** Creates the session keyring; throws when keyctl is missing. */
export async function startKeyctlSession(): Promise<KeyctlSession> {
  await requirePeers(KEYCTL);
  const name = `aws-vault-test-${crypto.randomUUID()}`;
  // user: view, read, write, search, link, setattr (0x3f..), so later runs can join by name.
  const holder = new Deno.Command("keyctl", {
    args: ["session", name, "sh", "-c", "keyctl setperm @s 0x3f3f0000 && echo ready && exec cat"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const seen = await readUntil(reader, (text) => text.includes("ready\n"));
  await reader.cancel().catch(() => {});
  const stopHolder = async () => {
    await holder.stdin.close().catch(() => {});
    await holder.status;
  };
  if (!seen.includes("ready\n")) {
    await stopHolder();
    throw new Error(`keyctl could not set up session keyring ${name}`);
  }
  const wrapper = ["keyctl", "session", name];
  return {
    name,
    wrapper,
    cleanup: async () => {
      await new Deno.Command("keyctl", {
        args: ["session", name, "keyctl", "clear", "@s"],
        stdout: "null",
        stderr: "null",
      }).output();
      await stopHolder();
    },
  };
}
