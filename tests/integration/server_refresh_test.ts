/**
 * Refresh-ahead: credentials are fetched once up front, refreshed in the background before
 * botocore's 15-minute window, one fetch at a time; a request never waits on a slow fetch
 * beyond the client timeouts (it gets a retryable error), and expired credentials are never
 * handed out.
 */
import assert from "node:assert/strict";
import {
  CredentialsUnavailable,
  RefreshingCredentials,
  type Timers,
} from "../../lib/server/refreshing_credentials.ts";
import { startEc2Server } from "../../lib/server/ec2_server.ts";
import { startEcsServer } from "../../lib/server/ecs_server.ts";
import type { Credentials } from "../../lib/credentials.ts";

/** Timers run by hand. */
class ManualTimers implements Timers {
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  #id = 0;
  setTimeout(fn: () => void, ms: number): number {
    this.pending.set(++this.#id, { fn, ms });
    return this.#id;
  }
  clearTimeout(id: number): void {
    this.pending.delete(id);
  }
  /** Runs the timers set with `ms` (the refresh or the request wait). */
  fire(pred: (ms: number) => boolean): number {
    let n = 0;
    for (const [id, t] of [...this.pending]) {
      if (pred(t.ms)) {
        this.pending.delete(id);
        t.fn();
        n++;
      }
    }
    return n;
  }
}

function creds(n: number, expiresAt: number): Credentials {
  return {
    accessKeyId: `ASIA${String(n).padStart(16, "0")}`,
    secretAccessKey: `secret-${n}`,
    sessionToken: `token-${n}`,
    expiration: new Date(expiresAt),
  };
}

Deno.test("refresh is scheduled 20 minutes before expiry and asks for more than that", async () => {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const timers = new ManualTimers();
  const asked: number[] = [];
  let n = 0;
  const source = new RefreshingCredentials({
    name: "p",
    now: () => new Date(now),
    log: () => {},
    timers,
    fetch: (min) => {
      asked.push(min);
      return Promise.resolve(creds(++n, now + 3600_000));
    },
  });
  assert.equal((await source.prefetch()).accessKeyId, creds(1, 0).accessKeyId);
  assert.ok(asked[0] > 20 * 60_000, "a cached session close to the window is renewed");
  const [refresh] = [...timers.pending.values()];
  assert.equal(refresh.ms, 40 * 60_000);
  now += 40 * 60_000;
  timers.fire((ms) => ms === 40 * 60_000);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal((await source.get()).accessKeyId, creds(2, 0).accessKeyId);
  assert.equal(n, 2);
  source.close();
  assert.equal(timers.pending.size, 0);
});

Deno.test("credentials valid for weeks: one fetch, not a loop (a delay past 2^31 ms fires at once)", async () => {
  // Real timers: the overflow is the runtime's, not ours to model.
  let fetches = 0;
  const source = new RefreshingCredentials({
    name: "p",
    now: () => new Date(),
    log: () => {},
    fetch: () => {
      fetches++;
      return Promise.resolve(creds(fetches, Date.now() + 30 * 86_400_000));
    },
  });
  await source.prefetch();
  await new Promise((r) => setTimeout(r, 300));
  source.close();
  assert.equal(fetches, 1);
});

Deno.test("a slow fetch: requests get a retryable error, one fetch serves them all", async () => {
  const timers = new ManualTimers();
  let release!: (c: Credentials) => void;
  let fetches = 0;
  const now = Date.now();
  const source = new RefreshingCredentials({
    name: "p",
    now: () => new Date(now),
    log: () => {},
    timers,
    fetch: () => {
      fetches++;
      return new Promise((r) => (release = r));
    },
  });
  const waiting = Array.from({ length: 10 }, () => source.get());
  assert.equal(fetches, 1);
  timers.fire((ms) => ms < 1000);
  for (const w of waiting) await assert.rejects(w, CredentialsUnavailable);
  release(creds(1, now + 3600_000));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal((await source.get()).accessKeyId, creds(1, 0).accessKeyId);
  assert.equal(fetches, 1);
  source.close();
});

Deno.test("a failed fetch: the error for a while, no fetch storm, then a new try", async () => {
  let now = Date.now();
  const timers = new ManualTimers();
  let fetches = 0;
  const source = new RefreshingCredentials({
    name: "p",
    now: () => new Date(now),
    log: () => {},
    timers,
    failureCooldownMs: 10_000,
    fetch: () => {
      fetches++;
      return Promise.reject(new Error("MFA prompt cancelled"));
    },
  });
  await assert.rejects(source.get(), /MFA prompt cancelled/);
  for (let i = 0; i < 20; i++) await assert.rejects(source.get(), /MFA prompt cancelled/);
  assert.equal(fetches, 1);
  now += 10_001;
  await assert.rejects(source.get(), /MFA prompt cancelled/);
  assert.equal(fetches, 2);
  source.close();
});

Deno.test("credentials about to expire are never handed out", async () => {
  let now = Date.now();
  const timers = new ManualTimers();
  let n = 0;
  const source = new RefreshingCredentials({
    name: "p",
    now: () => new Date(now),
    log: () => {},
    timers,
    fetch: () => Promise.resolve(creds(++n, now + 60_000)),
  });
  await source.prefetch();
  now += 45_000; // 15 s left: within the margin
  assert.equal((await source.get()).accessKeyId, creds(2, 0).accessKeyId);
  source.close();
});

Deno.test("short-lived credentials under load: never expired, never slower than the SDK timeouts", async () => {
  // Real time: credentials live 5 s, STS takes 200 ms; clients use the SDKs' own timeouts
  // (1 s IMDS, 2 s ECS) and would fail if a reply came later.
  let n = 0;
  const source = new RefreshingCredentials({
    name: "p",
    now: () => new Date(),
    log: () => {},
    refreshAheadMs: 2_500,
    expiryMarginMs: 500,
    fetch: async () => {
      await new Promise((r) => setTimeout(r, 200));
      return creds(++n, Date.now() + 5_000);
    },
  });
  await source.prefetch();
  const ecs = startEcsServer({ base: source });
  const ec2 = await startEc2Server({
    source,
    hostname: "127.0.0.1",
    port: 0,
    now: () => new Date(),
  });
  const seen = new Set<string>();
  let requests = 0;
  const until = Date.now() + 11_000;
  const client = async (kind: "ecs" | "ec2") => {
    while (Date.now() < until) {
      const res = kind === "ecs"
        ? await fetch(ecs.url, {
          headers: { authorization: ecs.token },
          signal: AbortSignal.timeout(2_000),
        })
        : await fetch(
          `http://127.0.0.1:${ec2.addr.port}/latest/meta-data/iam/security-credentials/local-credentials`,
          {
            signal: AbortSignal.timeout(1_000),
          },
        );
      const received = Date.now();
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.ok(Date.parse(body.Expiration) > received, "expired credentials were served");
      seen.add(body.AccessKeyId);
      requests++;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await Promise.all([...Array(4)].flatMap(() => [client("ecs"), client("ec2")]));
  } finally {
    source.close();
    await ecs.close();
    await ec2.close();
  }
  assert.ok(requests > 50);
  assert.ok(seen.size >= 3, `refreshed in the background (${seen.size} keys seen)`);
  assert.ok(n < requests / 4, `refreshes ran ahead, not on every request (${n} fetches)`);
});
