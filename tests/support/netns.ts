/**
 * Network namespaces for tests that need addresses other than loopback (169.254.169.254, a
 * peer on another address). Needs root and `ip`; every namespace is the test's own and is
 * deleted afterwards, so the machine's own network is never touched.
 */
import type { Peer } from "./peers.ts";

async function ip(args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** Network namespaces as a test peer: root and a working `ip netns`. */
export const NETNS: Peer = {
  name: "network namespaces (root + ip netns)",
  probe: async () => {
    if (Deno.uid() !== 0) return "not root";
    const name = `avs-probe-${crypto.randomUUID().slice(0, 8)}`;
    try {
      await ip(["netns", "add", name]);
      await ip(["netns", "del", name]);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  },
};

/** Two namespaces: `server` (lo up) and `peer`, joined by a veth pair (10.231.x.1 and .2). */
export interface NetnsPair {
  server: string;
  peer: string;
  serverAddr: string;
  peerAddr: string;
  /** Runs `ip` inside one of them. */
  ipIn(ns: string, args: string[]): Promise<void>;
  cleanup(): Promise<void>;
}

/** Creates the pair; the peer routes 169.254.169.254 to the server namespace. */
export async function netnsPair(): Promise<NetnsPair> {
  const id = crypto.randomUUID().slice(0, 6);
  const server = `avs-srv-${id}`;
  const peer = `avs-peer-${id}`;
  const octet = 1 + (parseInt(id.slice(0, 2), 16) % 250);
  const serverAddr = `10.231.${octet}.1`;
  const peerAddr = `10.231.${octet}.2`;
  await ip(["netns", "add", server]);
  await ip(["netns", "add", peer]);
  const pair: NetnsPair = {
    server,
    peer,
    serverAddr,
    peerAddr,
    ipIn: (ns, args) => ip(["-n", ns, ...args]),
    cleanup: async () => {
      await ip(["netns", "del", server]).catch(() => {});
      await ip(["netns", "del", peer]).catch(() => {});
    },
  };
  try {
    await ip([
      "link",
      "add",
      `avs-a${id}`,
      "netns",
      server,
      "type",
      "veth",
      "peer",
      "name",
      `avs-b${id}`,
      "netns",
      peer,
    ]);
    for (
      const [ns, dev, addr] of [[server, `avs-a${id}`, serverAddr], [peer, `avs-b${id}`, peerAddr]]
    ) {
      await pair.ipIn(ns, ["link", "set", "lo", "up"]);
      await pair.ipIn(ns, ["addr", "add", `${addr}/24`, "dev", dev]);
      await pair.ipIn(ns, ["link", "set", dev, "up"]);
    }
    await pair.ipIn(peer, ["route", "add", "169.254.169.254/32", "via", serverAddr]);
  } catch (e) {
    await pair.cleanup();
    throw e;
  }
  return pair;
}
