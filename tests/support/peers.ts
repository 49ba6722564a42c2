/**
 * Real peers the tests use (moto, aws CLI v2, pass, gnome-keyring, keyctl, jwcrypto). A test
 * module probes its peers before it registers its tests (top-level await): a peer missing on a
 * developer's machine makes the test ignored, with a printed reason, so the run's summary counts
 * it as ignored, never as passed. Under CI=true a missing peer fails the test instead.
 */

/** Whether we run under CI, where every peer must be present. */
export const IN_CI = Deno.env.get("CI") === "true";

/** A real program a test needs, and how to tell that it works here. */
export interface Peer {
  name: string;
  /** Undefined when the peer works, else the reason it does not. */
  probe: () => Promise<string | undefined>;
}

const checked = new Map<string, Promise<string | undefined>>();
const told = new Set<string>();

/** Why the peer cannot be used here (probed once per test process), or undefined. */
export function peerMissing(peer: Peer): Promise<string | undefined> {
  if (!checked.has(peer.name)) checked.set(peer.name, peer.probe().catch((e) => String(e)));
  return checked.get(peer.name)!;
}

/**
 * The `ignore` value for Deno.test: true (after printing why, once per peer) when a peer is
 * missing on a user's machine; false when all work, and under CI=true, where the test then runs
 * and fails in requirePeers.
 */
export async function ignoreWithout(...peers: Peer[]): Promise<boolean> {
  for (const peer of peers) {
    const reason = await peerMissing(peer);
    if (reason === undefined) continue;
    if (IN_CI) return false;
    if (!told.has(peer.name)) {
      told.add(peer.name);
      console.log(`SKIP: ${peer.name} is not available: ${reason}`);
    }
    return true;
  }
  return false;
}

/** Inside a test (or a helper it calls): throws naming the first peer that is missing. */
export async function requirePeers(...peers: Peer[]): Promise<void> {
  for (const peer of peers) {
    const reason = await peerMissing(peer);
    if (reason === undefined) continue;
    throw new Error(
      `test peer ${peer.name} is missing${IN_CI ? " under CI" : ""}: ${reason}`,
    );
  }
}

/** A peer that works when a command exits 0. */
export function commandPeer(name: string, cmd: string, args: string[]): Peer {
  return { name, probe: commandWorks(cmd, args) };
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

let python: Promise<string> | undefined;

/**
 * The interpreter `python3` on PATH runs, as an absolute path. A version manager's shim (pyenv
 * puts a bash script first on PATH) costs a shell and `pyenv exec` per start, about a second on
 * a loaded machine; tests that start python often (stand-ins, the pty runner) use this instead.
 * Falls back to `python3` when it cannot tell.
 */
export function python3(): Promise<string> {
  python ??= (async () => {
    try {
      const out = await new Deno.Command("python3", {
        args: ["-S", "-c", "import sys; print(sys.executable)"],
        stdout: "piped",
        stderr: "null",
      }).output();
      const path = new TextDecoder().decode(out.stdout).trim();
      return out.success && path.startsWith("/") ? path : "python3";
    } catch {
      return "python3";
    }
  })();
  return python;
}
