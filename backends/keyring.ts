/**
 * The storage interface every backend implements. Backends store opaque items and know nothing
 * of AWS; lib/store gives the items their meaning (credentials, sessions, OIDC tokens).
 */

/** One stored thing, with aws-vault's keyring Item fields. */
export interface Item {
  /** The item's key: a profile name, a session key or `oidc:<start url>`. */
  key: string;
  /** The secret payload (aws-vault stores JSON here). */
  data: Uint8Array;
  /** Human-readable label, e.g. `aws-vault (work)`. */
  label: string;
  /** Description, e.g. `aws-vault session`. */
  description: string;
  /** macOS: do not trust the creating application (ask on every access). */
  keychainNotTrustApplication: boolean;
  /** macOS: never sync through iCloud. */
  keychainNotSynchronizable: boolean;
}

/** What a backend can tell about an item without decrypting it. */
export interface ItemMetadata {
  /** Last modification time, when the backend knows it. */
  modificationTime?: Date;
}

/**
 * What a listing of a store's keys was taken from. A listing taken while `keysSnapshot()` gave a
 * snapshot is still the store's key set while it gives an equal one (same store, same stamp).
 */
export interface KeysSnapshot {
  /** Which store: the backend and its place, e.g. `file:/home/me/.awsvault/keys`. */
  store: string;
  /** Opaque; changes with every change to the set of keys. */
  stamp: string;
}

/** A secret store. Every method may throw a KeyringError. */
export interface Keyring {
  /** The backend's name as `--backend` spells it. */
  readonly name: string;
  /** The item with this key, or undefined when there is none. */
  get(key: string): Promise<Item | undefined>;
  /** Metadata of the item with this key, or undefined when there is none. */
  getMetadata(key: string): Promise<ItemMetadata | undefined>;
  /** Stores an item, replacing any item with the same key. */
  set(item: Item): Promise<void>;
  /** Removes the item with this key; false when there was none. */
  remove(key: string): Promise<boolean>;
  /** All keys in the store, in no particular order. */
  keys(): Promise<string[]>;
  /**
   * Whether `keys()` would list this key, for backends that can tell without listing or
   * decrypting (one lookup); absent elsewhere, and callers then list.
   */
  has?(key: string): Promise<boolean>;
  /**
   * The current snapshot of the key set, for callers that keep a listing (names only) between
   * processes; undefined when the backend cannot vouch for one now (a change so recent that the
   * next one could carry the same stamp). Backends that cannot tell leave it out.
   */
  keysSnapshot?(): Promise<KeysSnapshot | undefined>;
  /**
   * Throws a KeyringError when this backend cannot store an item under `key` (too long, bad
   * characters), so callers can refuse before work that cannot be redone (an MFA code, an STS
   * call). Backends that take any key leave it out.
   */
  checkKey?(key: string): void;
  /**
   * Ends what the backend holds open (a D-Bus connection); the next operation reopens it.
   * Absent for backends that hold nothing between operations.
   */
  close?(): Promise<void>;
}

/** A backend failure (unavailable, locked, corrupt item, wrong passphrase). */
export class KeyringError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "KeyringError";
  }
}

/** A new Item with aws-vault's defaults for the fields a caller does not set. */
export function newItem(fields: Pick<Item, "key" | "data"> & Partial<Item>): Item {
  return {
    label: "",
    description: "",
    keychainNotTrustApplication: false,
    keychainNotSynchronizable: false,
    ...fields,
  };
}
