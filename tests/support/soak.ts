/**
 * A soak run of the credential servers: N requests from C concurrent keep-alive clients on
 * loopback, half to the ECS server and half to the EC2 server (IMDSv2). Shared by the soak
 * test (which checks errors and memory) and `deno task bench` (which prints the figures).
 */
import { startEc2Server } from "../../lib/server/ec2_server.ts";
import { startEcsServer } from "../../lib/server/ecs_server.ts";
import type { ServedCredentials } from "../../lib/server/refreshing_credentials.ts";

/** What a soak run measured. */
export interface SoakFigures {
  requests: number;
  concurrency: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Resident memory of the process after a warm-up round and after the run, in MiB. */
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /**
   * This isolate's V8 heap in use at the same two points, in MiB. Under `deno test --parallel`
   * other test files run in the same process, so only the heap tells what the soak kept.
   */
  heapBeforeMiB: number;
  heapAfterMiB: number;
}

/** Runs the soak. */
export async function runSoak(requests = 10_000, concurrency = 32): Promise<SoakFigures> {
  const source: ServedCredentials = {
    get: () =>
      Promise.resolve({
        accessKeyId: "ASIASOAK000000000001",
        secretAccessKey: "soak-secret",
        sessionToken: "soak-token",
        expiration: new Date(Date.now() + 3600_000),
      }),
  };
  const ecs = startEcsServer({ base: source });
  const ec2 = await startEc2Server({
    source,
    hostname: "127.0.0.1",
    port: 0,
    now: () => new Date(),
  });
  const imds = `http://127.0.0.1:${ec2.addr.port}`;
  const times: number[] = [];
  let errors = 0;
  let issued = 0;
  const client = async (i: number) => {
    const tokenRes = await fetch(`${imds}/latest/api/token`, {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" },
    });
    const token = await tokenRes.text();
    while (issued < requests) {
      const n = issued++;
      const start = performance.now();
      try {
        const res = (n + i) % 2 === 0
          ? await fetch(ecs.url, { headers: { authorization: ecs.token } })
          : await fetch(`${imds}/latest/meta-data/iam/security-credentials/local-credentials`, {
            headers: { "x-aws-ec2-metadata-token": token },
          });
        const body = await res.json();
        if (res.status !== 200 || body.AccessKeyId !== "ASIASOAK000000000001") errors++;
      } catch {
        errors++;
      }
      times.push(performance.now() - start);
    }
  };
  const rss = () => Deno.memoryUsage().rss / 1048576;
  const heap = () => Deno.memoryUsage().heapUsed / 1048576;
  try {
    await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
    const warm = { issued, errors };
    issued = 0;
    errors = 0;
    times.length = 0;
    void warm;
    const rssBefore = rss();
    const heapBefore = heap();
    const started = performance.now();
    // The measured run: `requests` more after the warm-up above.
    await Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
    const seconds = (performance.now() - started) / 1000;
    const sorted = [...times].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return {
      requests: times.length,
      concurrency,
      errors: errors + warm.errors,
      seconds,
      perSecond: times.length / seconds,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: sorted[sorted.length - 1],
      rssBeforeMiB: rssBefore,
      rssAfterMiB: rss(),
      heapBeforeMiB: heapBefore,
      heapAfterMiB: heap(),
    };
  } finally {
    await ecs.close();
    await ec2.close();
  }
}

/** One line of figures. */
export function soakLine(f: SoakFigures): string {
  return `${f.requests} requests, ${f.concurrency} clients: ${f.errors} errors, ` +
    `${f.perSecond.toFixed(0)}/s, p50 ${f.p50Ms.toFixed(2)} ms, p99 ${f.p99Ms.toFixed(2)} ms, ` +
    `max ${f.maxMs.toFixed(1)} ms, RSS ${f.rssBeforeMiB.toFixed(0)} -> ${
      f.rssAfterMiB.toFixed(0)
    } MiB, heap ${f.heapBeforeMiB.toFixed(0)} -> ${f.heapAfterMiB.toFixed(0)} MiB`;
}
