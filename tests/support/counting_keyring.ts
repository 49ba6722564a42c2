/**
 * A keyring wrapper that counts what a store asks of the keyring it wraps: listings, item reads
 * (by key) and by-name lookups. `has` and `keysSnapshot` are passed on only when asked for, so a
 * test chooses which shortcuts the store may take.
 */
import type { Item, Keyring } from "../../backends/keyring.ts";

/** Which optional methods of the inner keyring the wrapper offers. */
export interface CountingOptions {
  /** Offer the inner keyring's `has` (counted in `lookups`). */
  has?: boolean;
  /** Offer the inner keyring's `keysSnapshot` (what the session index trusts). */
  snapshots?: boolean;
}

/** Counts listings, reads and lookups, and passes every call on. */
export class CountingKeyring implements Keyring {
  readonly name: string;
  listings = 0;
  lookups = 0;
  reads: string[] = [];
  readonly has?: (key: string) => Promise<boolean>;
  readonly keysSnapshot?: Keyring["keysSnapshot"];

  constructor(readonly inner: Keyring, options: CountingOptions = {}) {
    this.name = inner.name;
    if (options.has && inner.has) {
      this.has = (key) => {
        this.lookups++;
        return inner.has!(key);
      };
    }
    if (options.snapshots && inner.keysSnapshot) {
      this.keysSnapshot = () => inner.keysSnapshot!();
    }
  }

  get(key: string): Promise<Item | undefined> {
    this.reads.push(key);
    return this.inner.get(key);
  }

  getMetadata(key: string): ReturnType<Keyring["getMetadata"]> {
    return this.inner.getMetadata(key);
  }

  set(item: Item): Promise<void> {
    return this.inner.set(item);
  }

  remove(key: string): Promise<boolean> {
    return this.inner.remove(key);
  }

  keys(): Promise<string[]> {
    this.listings++;
    return this.inner.keys();
  }
}
