/**
 * Credentials a server hands out, refreshed ahead of time: fetched once before the child starts,
 * then again in the background well before they expire, so a request is answered from memory.
 * A request never waits on STS or an MFA prompt longer than a client's timeout (IMDS clients
 * give up after 1 s, container clients after 2 s): it gets a retryable error instead, and one
 * fetch at a time runs however many requests arrive.
 */
import type { Credentials } from "../credentials.ts";
import { MAX_DELAY_MS } from "../timer.ts";

/** Botocore refreshes 15 minutes before expiry: refresh earlier than that, with room to spare. */
export const REFRESH_AHEAD_MS = 20 * 60_000;
/** How long a request waits for a fetch in progress (under the 1 s IMDS client timeout). */
export const REQUEST_WAIT_MS = 700;
/** Credentials this close to expiry are never handed out. */
export const EXPIRY_MARGIN_MS = 30_000;
/** After a failed fetch, requests get the error for this long before another fetch starts. */
export const FAILURE_COOLDOWN_MS = 10_000;

/** Something a server asks for credentials on each request. */
export interface ServedCredentials {
  /** Credentials to hand out now; throws CredentialsUnavailable (retryable) or the fetch error. */
  get(): Promise<Credentials>;
}

/** The credentials are being fetched and were not ready in time: the client should retry. */
export class CredentialsUnavailable extends Error {
  constructor(message = "credentials are being refreshed; retry shortly") {
    super(message);
    this.name = "CredentialsUnavailable";
  }
}

/** Timers, passed in so tests can drive them. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

/** What a RefreshingCredentials needs. */
export interface RefreshingOptions {
  /**
   * Fetches fresh credentials; `minRemainingMs` asks a session cache to renew sessions with less
   * life than that rather than return them.
   */
  fetch: (minRemainingMs: number) => Promise<Credentials>;
  now: () => Date;
  /** One line per fetch and failure; never gets secrets. */
  log: (line: string) => void;
  /** A name for log lines (the profile or role). */
  name: string;
  timers?: Timers;
  refreshAheadMs?: number;
  requestWaitMs?: number;
  failureCooldownMs?: number;
  /** Credentials with less life than this are not handed out (default EXPIRY_MARGIN_MS). */
  expiryMarginMs?: number;
}

/** A credential source with refresh-ahead. */
export class RefreshingCredentials implements ServedCredentials {
  readonly #o: RefreshingOptions;
  readonly #timers: Timers;
  readonly #refreshAheadMs: number;
  #current: Credentials | undefined;
  #inFlight: Promise<Credentials> | undefined;
  #lastFailure: { at: number; error: Error } | undefined;
  /** Failed fetches in a row: the background retry backs off. */
  #failures = 0;
  #timer: number | undefined;
  #closed = false;

  constructor(options: RefreshingOptions) {
    this.#o = options;
    this.#timers = options.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as number,
      clearTimeout: (id) => clearTimeout(id),
    };
    this.#refreshAheadMs = options.refreshAheadMs ?? REFRESH_AHEAD_MS;
  }

  /** Fetches now and waits (before the child starts: a failure aborts, a prompt may be shown). */
  async prefetch(): Promise<Credentials> {
    return await this.#refresh();
  }

  /** Credentials to hand out now (see ServedCredentials). */
  async get(): Promise<Credentials> {
    const now = this.#o.now().getTime();
    const margin = this.#o.expiryMarginMs ?? EXPIRY_MARGIN_MS;
    if (this.#current && usable(this.#current, now, margin)) return this.#current;
    const failure = this.#lastFailure;
    if (!this.#inFlight && failure && now - failure.at < this.#cooldown()) throw failure.error;
    const fetching = this.#refresh();
    let timer: number | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = this.#timers.setTimeout(
        () => reject(new CredentialsUnavailable()),
        this.#o.requestWaitMs ?? REQUEST_WAIT_MS,
      );
    });
    try {
      return await Promise.race([fetching, late]);
    } finally {
      this.#timers.clearTimeout(timer!);
    }
  }

  /** Stops the background refresh. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
  }

  #cooldown(): number {
    return this.#o.failureCooldownMs ?? FAILURE_COOLDOWN_MS;
  }

  /** One fetch at a time; every caller shares it. */
  #refresh(): Promise<Credentials> {
    if (this.#inFlight) return this.#inFlight;
    const started = this.#o.now().getTime();
    const p = this.#o.fetch(this.#refreshAheadMs + 5 * 60_000).then(
      (creds) => {
        this.#current = creds;
        this.#lastFailure = undefined;
        this.#failures = 0;
        this.#schedule(creds, started);
        const until = creds.expiration ? ` until ${creds.expiration.toISOString()}` : "";
        this.#o.log(`server: credentials for ${this.#o.name} fetched${until}`);
        return creds;
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        this.#lastFailure = { at: this.#o.now().getTime(), error };
        this.#failures++;
        this.#o.log(`server: fetching credentials for ${this.#o.name} failed: ${error.message}`);
        // Try again in the background while the current credentials still work.
        if (this.#current?.expiration) {
          this.#arm(Math.min(5 * 60_000, this.#cooldown() * 2 ** (this.#failures - 1)));
        }
        throw error;
      },
    ).finally(() => {
      this.#inFlight = undefined;
    });
    // A background refresh nobody awaits must not become an unhandled rejection.
    p.catch(() => {});
    this.#inFlight = p;
    return p;
  }

  #schedule(creds: Credentials, fetchedAt: number): void {
    if (!creds.expiration) return;
    const expires = creds.expiration.getTime();
    // Short-lived credentials: refresh at half their life, so refreshes never run back to back.
    const ahead = Math.min(this.#refreshAheadMs, Math.max(0, (expires - fetchedAt) / 2));
    this.#arm(Math.max(1_000, expires - ahead - this.#o.now().getTime()));
  }

  #arm(ms: number): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    // Credentials valid for weeks (a credential_process may say so) would ask for a delay past
    // the timer's limit, which fires at once: a fetch loop. A refresh in 24 days does no harm.
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) this.#refresh().catch(() => {});
    }, Math.min(ms, MAX_DELAY_MS));
    // The timer must not keep a finished program alive.
    if (!this.#o.timers) Deno.unrefTimer(this.#timer);
  }
}

function usable(c: Credentials, now: number, marginMs: number): boolean {
  return !c.expiration || c.expiration.getTime() - now > marginMs;
}
