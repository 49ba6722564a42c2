/**
 * The privileged half of `exec --ec2-server` on a real machine (reference 3.6): `aws-vault
 * proxy`, started through `sudo`, adds 169.254.169.254 to the loopback interface, listens on
 * port 80 and forwards each request to the unprivileged metadata server on 127.0.0.1:9099.
 * `GET /stop` (what `proxy --stop` and exec's exit send) removes the address and ends it.
 */
import { isLoopback } from "./guard.ts";
import { hostNames } from "./ec2_server.ts";
import { type HttpReply, serveHttp } from "./http1.ts";

/** Where the unprivileged server listens when the proxy is used (aws-vault's port). */
export const PROXY_TARGET = { hostname: "127.0.0.1", port: 9099 };
const FORWARDED_HEADERS = [
  "x-aws-ec2-metadata-token",
  "x-aws-ec2-metadata-token-ttl-seconds",
  "x-forwarded-for",
  "user-agent",
];

/** The commands that add and remove the address on the loopback interface. */
export function aliasCommands(
  os: typeof Deno.build.os,
  ip: string,
): { add: string[]; remove: string[] } {
  switch (os) {
    case "linux":
      return {
        add: ["ip", "addr", "add", `${ip}/24`, "dev", "lo", "label", "lo:0"],
        remove: ["ip", "addr", "del", `${ip}/24`, "dev", "lo", "label", "lo:0"],
      };
    case "darwin":
    case "freebsd":
    case "netbsd":
      return {
        add: ["ifconfig", "lo0", "alias", ip],
        remove: ["ifconfig", "lo0", "-alias", ip],
      };
    case "windows":
      return {
        add: [
          "netsh",
          "interface",
          "ipv4",
          "add",
          "address",
          "Loopback Pseudo-Interface 1",
          ip,
          "255.255.0.0",
        ],
        remove: [
          "netsh",
          "interface",
          "ipv4",
          "delete",
          "address",
          "Loopback Pseudo-Interface 1",
          ip,
          "255.255.0.0",
        ],
      };
    default:
      throw new Error(`the EC2 metadata address cannot be set up on ${os}`);
  }
}

/** What runProxy needs. */
export interface ProxyOptions {
  listen: { hostname: string; port: number };
  target?: { hostname: string; port: number };
  /** Runs a command (the alias commands); returns its exit code and stderr. */
  run: (argv: string[]) => Promise<{ code: number; stderr: string }>;
  os: typeof Deno.build.os;
  log: (line: string) => void;
  /** Resolves when a signal asks the proxy to stop. */
  stopSignal?: Promise<void>;
}

/** Adds the address, serves until `/stop` or a signal, removes the address. */
export async function runProxy(o: ProxyOptions): Promise<void> {
  const target = o.target ?? PROXY_TARGET;
  const alias = aliasCommands(o.os, o.listen.hostname);
  const added = await o.run(alias.add);
  // "File exists": a proxy left behind by a crash; keep going and remove it at the end.
  if (added.code !== 0 && !/exists/i.test(added.stderr)) {
    throw new Error(
      `cannot add ${o.listen.hostname} to the loopback interface: ${added.stderr.trim()}`,
    );
  }
  const hosts = new Set(hostNames(o.listen.hostname, o.listen.port));
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const server = serveHttp({
    hostname: o.listen.hostname,
    port: o.listen.port,
    log: o.log,
    handler: async (req): Promise<HttpReply> => {
      const peer = req.remote.hostname;
      if (!isLoopback(peer) && peer !== o.listen.hostname) {
        return { status: 401, body: "Access denied from non-localhost address" };
      }
      if (!hosts.has((req.headers.get("host") ?? "").toLowerCase())) {
        return { status: 401, body: "Access denied for this Host header" };
      }
      if (req.path === "/stop") {
        // Stop once this reply is on its way.
        setTimeout(stop, 100);
        return { status: 200, body: "stopping\n" };
      }
      const headers: Record<string, string> = {};
      for (const h of FORWARDED_HEADERS) {
        const v = req.headers.get(h);
        if (v !== null) headers[h] = v;
      }
      try {
        const res = await fetch(`http://${target.hostname}:${target.port}${req.target}`, {
          method: req.method,
          headers,
          signal: AbortSignal.timeout(5_000),
        });
        const body = await res.text();
        const out: Record<string, string> = {};
        for (const h of ["content-type", "x-aws-ec2-metadata-token-ttl-seconds"]) {
          const v = res.headers.get(h);
          if (v !== null) out[h] = v;
        }
        return { status: res.status, headers: out, body: body.slice(0, 64 * 1024) };
      } catch {
        return { status: 502, body: "the aws-vault metadata server does not answer" };
      }
    },
  });
  await Promise.race([stopped, o.stopSignal ?? new Promise(() => {})]);
  await server.close();
  await o.run(alias.remove);
}

/** `proxy --stop` and exec's exit: asks a running proxy to stop. */
export async function stopProxy(listen: { hostname: string; port: number }): Promise<boolean> {
  try {
    const res = await fetch(`http://${listen.hostname}:${listen.port}/stop`, {
      headers: { host: hostNames(listen.hostname, listen.port)[0] },
      signal: AbortSignal.timeout(2_000),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
