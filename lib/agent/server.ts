/**
 * The credential agent: holds one file vault's passphrase in memory (as bytes, zeroed when it
 * locks or stops) and decrypts and encrypts items for clients on a Unix socket, so the
 * passphrase never leaves this process. Items it decrypted are kept in memory, keyed by a hash
 * of their ciphertext, until it locks (sessions: until they expire), so a cache-hit read is one
 * local round trip with no key derivation. It never touches the vault's files except to prove a
 * passphrase: clients read and write them (atomically) as before.
 *
 * It locks after `idleMs` without a vault request, exits after `timeoutMs`, on `stop`, on
 * SIGTERM/SIGINT/SIGHUP, and when its socket file is removed or replaced.
 */
import { DecryptionFailed, decryptItem, encryptItem, FileKeyring } from "../../backends/file.ts";
import { decodeItemJson, encodeItemJson } from "../../backends/item_json.ts";
import { KeyringError } from "../../backends/keyring.ts";
import { bytesToHex } from "../encoding.ts";
import { errorLine, UserError } from "../errors.ts";
import { parseSessionKey } from "../store/session_key.ts";
import {
  AGENT_PROTOCOL_VERSION,
  type AgentReply,
  type AgentRequest,
  type AgentStatus,
  encodeLine,
  errorReply,
  LineReader,
  LineTooLong,
  MAX_REQUEST_BYTES,
  parseRequest,
  writeAll,
} from "./protocol.ts";

/** A connection must complete each request line within this long (half-sent requests). */
const REQUEST_READ_TIMEOUT_MS = 10_000;
/** Connections served at once; more are told `busy`. */
const MAX_CONNECTIONS = 256;
/** Decrypted items kept in memory at most. */
const MAX_CACHED_ITEMS = 1024;
/** How often the socket file, the timeout and the idle limit are checked. */
const TICK_MS = 1000;

/** Settings of one agent. */
export interface AgentServerOptions {
  /** The socket file to listen on (its directory already checked). */
  socketPath: string;
  /** The vault directory it serves. */
  dir: string;
  /** Exit this long after start (0: never). */
  timeoutMs: number;
  /** Lock after this long without a vault request (0: never). */
  idleMs: number;
  /** Debug logger (never receives secrets). */
  debug?: (message: string) => void;
}

interface CachedItem {
  itemJson: string;
  /** Epoch ms; Infinity until the agent locks. */
  expiresAt: number;
}

/** One running agent. */
export class AgentServer {
  readonly #o: AgentServerOptions;
  readonly #startedAt = Date.now();
  #passphrase: Uint8Array | undefined;
  #lastUse = Date.now();
  readonly #cache = new Map<string, CachedItem>();
  readonly #decrypting = new Map<string, Promise<AgentReply>>();
  #listener: Deno.Listener<Deno.UnixConn, Deno.UnixAddr> | undefined;
  #socketIno: number | null = null;
  #connections = 0;
  #stopped = false;
  #stopRequested = false;
  #done = Promise.withResolvers<void>();
  #tick: ReturnType<typeof setInterval> | undefined;

  constructor(options: AgentServerOptions) {
    this.#o = options;
  }

  /** Whether it holds no passphrase. */
  get locked(): boolean {
    return this.#passphrase === undefined;
  }

  /** Proves a passphrase against the vault and keeps it; a UserError when it is wrong. */
  async unlock(passphrase: string): Promise<void> {
    const keyring = new FileKeyring(this.#o.dir, {
      passphrase,
      terminal: { readLine: () => Promise.reject(new UserError("the agent has no terminal")) },
    });
    await keyring.verifiedPassphrase();
    this.#wipe();
    this.#passphrase = new TextEncoder().encode(passphrase);
    this.#lastUse = Date.now();
  }

  /** Forgets the passphrase and every decrypted item; keeps serving. */
  lock(): void {
    this.#wipe();
  }

  /** Binds the socket (mode 0600). */
  listen(): void {
    this.#listener = Deno.listen({ transport: "unix", path: this.#o.socketPath });
    // The directory is 0700, so the socket's umask-derived mode is never reachable meanwhile.
    Deno.chmodSync(this.#o.socketPath, 0o600);
    this.#socketIno = Deno.lstatSync(this.#o.socketPath).ino;
  }

  /** Serves until stopped. */
  async serve(): Promise<void> {
    const listener = this.#listener;
    if (!listener) throw new Error("listen() first");
    this.#tick = setInterval(() => this.#check(), TICK_MS);
    const signals: Deno.Signal[] = ["SIGTERM", "SIGINT", "SIGHUP"];
    const onSignal = () => this.stop("signal");
    for (const s of signals) Deno.addSignalListener(s, onSignal);
    try {
      for (;;) {
        let conn: Deno.UnixConn;
        try {
          conn = await listener.accept();
        } catch {
          break; // closed by stop()
        }
        this.#handle(conn).catch((err) => this.#o.debug?.(`agent connection: ${err}`));
      }
    } finally {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
      this.stop("listener closed");
    }
    await this.#done.promise;
  }

  /** Wipes what it holds, closes and removes its socket; serve() then returns. */
  stop(why: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#o.debug?.(`agent stopping: ${why}`);
    this.#wipe();
    clearInterval(this.#tick);
    try {
      this.#listener?.close();
    } catch {
      // already closed
    }
    // Remove the socket only if it is still ours (a new agent may have replaced it).
    try {
      if (Deno.lstatSync(this.#o.socketPath).ino === this.#socketIno) {
        Deno.removeSync(this.#o.socketPath);
      }
    } catch {
      // gone already
    }
    this.#done.resolve();
  }

  /** What `status` answers. */
  status(): AgentStatus {
    const locked = this.locked;
    return {
      pid: Deno.pid,
      dir: this.#o.dir,
      locked,
      startedAt: this.#startedAt,
      ...(!locked && this.#o.idleMs > 0 ? { locksAt: this.#lastUse + this.#o.idleMs } : {}),
      ...(this.#o.timeoutMs > 0 ? { exitsAt: this.#startedAt + this.#o.timeoutMs } : {}),
      cachedItems: this.#cache.size,
    };
  }

  /** Answers one request line. */
  async answer(line: Uint8Array): Promise<AgentReply> {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(line);
    } catch {
      return errorReply("bad-request", "request is not UTF-8");
    }
    const req = parseRequest(text);
    if ("ok" in req) return req;
    try {
      return await this.#dispatch(req);
    } catch (err) {
      this.#o.debug?.(`agent request ${req.op} failed: ${(err as Error).name}`);
      return errorReply("internal", `the agent failed: ${errorLine(err)}`);
    }
  }

  async #dispatch(req: AgentRequest): Promise<AgentReply> {
    const ok = { v: AGENT_PROTOCOL_VERSION, ok: true } as const;
    switch (req.op) {
      case "status":
        return { ...ok, status: this.status() };
      case "lock":
        this.lock();
        return ok;
      case "stop":
        // Answer first; the connection handler stops after the reply is written.
        this.#stopRequested = true;
        return ok;
      case "unlock": {
        if (req.dir !== this.#o.dir) return this.#wrongVault(req.dir);
        try {
          await this.unlock(req.passphrase);
        } catch (err) {
          if (err instanceof UserError) return errorReply("wrong-passphrase", errorLine(err));
          throw err;
        }
        return ok;
      }
      case "decrypt":
        return await this.#decrypt(req.dir, req.path, req.jwe);
      case "encrypt":
        return await this.#encrypt(req.dir, req.item, req.keyHeader);
    }
  }

  async #decrypt(dir: string, path: string, jwe: string): Promise<AgentReply> {
    if (dir !== this.#o.dir) return this.#wrongVault(dir);
    const passphrase = this.#passphrase;
    if (!passphrase) return errorReply("locked", "the agent is locked");
    this.#lastUse = Date.now();
    const digest = await sha256Hex(jwe.trim());
    const hit = this.#cache.get(digest);
    if (hit && hit.expiresAt > Date.now()) {
      return { v: AGENT_PROTOCOL_VERSION, ok: true, item: hit.itemJson };
    }
    // Parallel callers of one item share one key derivation.
    let pending = this.#decrypting.get(digest);
    if (!pending) {
      pending = this.#decryptUncached(digest, jwe, passphrase, path)
        .finally(() => this.#decrypting.delete(digest));
      this.#decrypting.set(digest, pending);
    }
    return await pending;
  }

  async #decryptUncached(
    digest: string,
    jwe: string,
    passphrase: Uint8Array,
    path: string,
  ): Promise<AgentReply> {
    try {
      const item = await decryptItem(jwe, passphrase, path);
      const itemJson = encodeItemJson(item);
      this.#remember(digest, item.key, itemJson, passphrase);
      return { v: AGENT_PROTOCOL_VERSION, ok: true, item: itemJson };
    } catch (err) {
      if (err instanceof DecryptionFailed) {
        return errorReply(
          "cannot-decrypt",
          `cannot decrypt ${path}: the item is corrupt or was encrypted with another passphrase`,
        );
      }
      if (err instanceof KeyringError) return errorReply("invalid-item", errorLine(err));
      throw err;
    }
  }

  async #encrypt(dir: string, itemJson: string, keyHeader?: string): Promise<AgentReply> {
    if (dir !== this.#o.dir) return this.#wrongVault(dir);
    const passphrase = this.#passphrase;
    if (!passphrase) return errorReply("locked", "the agent is locked");
    this.#lastUse = Date.now();
    let item;
    try {
      item = decodeItemJson(itemJson, "request");
    } catch (err) {
      return errorReply("bad-request", errorLine(err));
    }
    const jwe = await encryptItem(item, passphrase, new Date(), { keyHeader });
    this.#remember(await sha256Hex(jwe), item.key, encodeItemJson(item), passphrase);
    return { v: AGENT_PROTOCOL_VERSION, ok: true, jwe };
  }

  /** Caches a decrypted item, unless the agent locked (or relocked) meanwhile. */
  #remember(digest: string, key: string, itemJson: string, passphrase: Uint8Array): void {
    if (this.#passphrase !== passphrase) return;
    const session = parseSessionKey(key);
    const expiresAt = session ? session.expiration.getTime() : Infinity;
    this.#cache.delete(digest);
    this.#cache.set(digest, { itemJson, expiresAt });
    while (this.#cache.size > MAX_CACHED_ITEMS) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
  }

  #wrongVault(dir: string): AgentReply {
    return errorReply(
      "wrong-vault",
      `the agent serves vault ${this.#o.dir}, not ${dir.slice(0, 4096)}`,
    );
  }

  #wipe(): void {
    this.#passphrase?.fill(0);
    this.#passphrase = undefined;
    this.#cache.clear();
  }

  #check(): void {
    const now = Date.now();
    if (this.#o.timeoutMs > 0 && now >= this.#startedAt + this.#o.timeoutMs) {
      this.stop("timeout");
      return;
    }
    let ino: number | null | undefined;
    try {
      ino = Deno.lstatSync(this.#o.socketPath).ino;
    } catch {
      ino = undefined;
    }
    if (ino !== this.#socketIno) {
      this.stop("its socket was removed or replaced");
      return;
    }
    if (!this.locked && this.#o.idleMs > 0 && now >= this.#lastUse + this.#o.idleMs) {
      this.#o.debug?.("agent idle: locking");
      this.lock();
    }
    for (const [digest, cached] of this.#cache) {
      if (cached.expiresAt <= now) this.#cache.delete(digest);
    }
  }

  async #handle(conn: Deno.UnixConn): Promise<void> {
    const close = () => {
      try {
        conn.close();
      } catch {
        // already closed
      }
    };
    if (this.#connections >= MAX_CONNECTIONS) {
      await writeAll(conn, encodeLine(errorReply("busy", "the agent has too many connections")))
        .catch(() => {});
      close();
      return;
    }
    this.#connections++;
    const reader = new LineReader(conn, MAX_REQUEST_BYTES);
    let timer = setTimeout(close, REQUEST_READ_TIMEOUT_MS);
    try {
      for (;;) {
        let line: Uint8Array | undefined;
        try {
          line = await reader.next();
        } catch (err) {
          if (err instanceof LineTooLong) {
            await writeAll(
              conn,
              encodeLine(errorReply(
                "too-large",
                `request is longer than ${MAX_REQUEST_BYTES} bytes`,
              )),
            );
          }
          break;
        }
        if (line === undefined) break;
        clearTimeout(timer);
        const reply = await this.answer(line);
        await writeAll(conn, encodeLine(reply));
        if (this.#stopRequested) break;
        timer = setTimeout(close, REQUEST_READ_TIMEOUT_MS);
      }
    } catch {
      // The client went away mid-reply; nothing to do.
    } finally {
      clearTimeout(timer);
      close();
      this.#connections--;
      if (this.#stopRequested) this.stop("stop requested");
    }
  }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return bytesToHex(new Uint8Array(digest));
}
