/**
 * A small D-Bus client connection over Deno's own unix sockets: connect to a bus address,
 * authenticate (EXTERNAL), say Hello, then method calls matched to their replies by serial,
 * ERROR replies as DbusRemoteError, and signals delivered to subscribers (AddMatch).
 *
 * Nothing can hang the program or make it buffer without bound: connecting, authenticating and
 * every call have a deadline, and a message larger than `maxMessageBytes` (either way) ends the
 * connection with a DbusDisconnectedError. The socket does not keep the process alive on its
 * own; a pending call's deadline timer does.
 *
 * Usage:
 * ```ts
 * const bus = await connectSessionBus(Deno.env.toObject());
 * try {
 *   const reply = await bus.call({
 *     destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus",
 *     interface: "org.freedesktop.DBus", member: "NameHasOwner", signature: "s", body: ["x.y"],
 *   });
 *   console.log(reply.body[0]); // boolean
 * } finally {
 *   bus.close();
 * }
 * ```
 */
import { authenticate, type ByteStream, writeAll } from "./auth.ts";
import { escapeAddressValue, parseBusAddress, socketTarget } from "./address.ts";
import {
  type DbusMessage,
  decodeMessage,
  encodeMessage,
  frameLength,
  MessageType,
  NO_REPLY_EXPECTED,
} from "./message.ts";
import {
  DbusConnectError,
  DbusDisconnectedError,
  DbusError,
  DbusErrorNames,
  DbusRemoteError,
  DbusTimeoutError,
} from "./errors.ts";
import type { DbusValue } from "./wire.ts";
import { after } from "../../lib/timer.ts";

export type { DbusMessage } from "./message.ts";
export type { DbusValue, Variant } from "./wire.ts";
export * from "./errors.ts";

/** Default deadline for connecting, authenticating and Hello. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Default deadline of a method call (libdbus's default is 25 s too). */
export const DEFAULT_CALL_TIMEOUT_MS = 25_000;
/** Default bound on one message, in either direction. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

const BUS = {
  destination: "org.freedesktop.DBus",
  path: "/org/freedesktop/DBus",
  interface: "org.freedesktop.DBus",
};

/** Options of a connection. */
export interface ConnectOptions {
  /** The uid to authenticate as; default Deno.uid(). */
  uid?: number;
  /** Deadline for connect + authentication + Hello; default 5 s. */
  connectTimeoutMs?: number;
  /** Default deadline of each call; default 25 s. */
  callTimeoutMs?: number;
  /** Largest message sent or accepted; default 4 MiB. */
  maxMessageBytes?: number;
}

/** A method call to send. */
export interface MethodCall {
  /** Bus name of the service (well-known or unique). */
  destination?: string;
  /** Object path. */
  path: string;
  interface?: string;
  member: string;
  /** Signature of `body`; default "" (no arguments). */
  signature?: string;
  body?: DbusValue[];
}

/** Options of one call. */
export interface CallOptions {
  /** Deadline of this call; default the connection's callTimeoutMs. */
  timeoutMs?: number;
}

/** Which signals a subscription receives. Absent fields match anything. */
export interface SignalMatch {
  /** Sender bus name; the bus resolves well-known names (only the bus filters on it). */
  sender?: string;
  path?: string;
  interface?: string;
  member?: string;
}

/** A signal subscription; `close()` removes its match rule. */
export interface Subscription {
  close(): Promise<void>;
}

/**
 * The session bus address: `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus` when that
 * socket exists (where systemd puts the user's bus; libdbus and godbus look there too), else
 * undefined.
 */
export function sessionBusAddress(env: Record<string, string | undefined>): string | undefined {
  if (env.DBUS_SESSION_BUS_ADDRESS) return env.DBUS_SESSION_BUS_ADDRESS;
  const dir = env.XDG_RUNTIME_DIR;
  if (!dir?.startsWith("/")) return undefined;
  try {
    if (Deno.statSync(`${dir}/bus`).isSocket) {
      return `unix:path=${escapeAddressValue(`${dir}/bus`)}`;
    }
  } catch { /* no such socket */ }
  return undefined;
}

/**
 * Connects to the session bus (see sessionBusAddress). Throws DbusConnectError when there is
 * none or no entry of its address can be reached.
 */
export function connectSessionBus(
  env: Record<string, string | undefined>,
  options: ConnectOptions = {},
): Promise<DbusConnection> {
  const address = sessionBusAddress(env);
  if (!address) {
    return Promise.reject(
      new DbusConnectError(
        "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus)",
      ),
    );
  }
  return connectBus(address, options);
}

/**
 * Connects to the first reachable entry of a bus address (`;`-separated, tried in order),
 * authenticates and says Hello. Throws DbusConnectError naming why each entry failed.
 */
export async function connectBus(
  address: string,
  options: ConnectOptions = {},
): Promise<DbusConnection> {
  let entries;
  try {
    entries = parseBusAddress(address);
  } catch (err) {
    throw new DbusConnectError((err as Error).message);
  }
  if (entries.length === 0) throw new DbusConnectError("the D-Bus address is empty");
  const reasons: string[] = [];
  for (const entry of entries) {
    const target = socketTarget(entry);
    if (target.kind === "unsupported") {
      reasons.push(`${entry.text}: ${target.reason}`);
      continue;
    }
    try {
      return await DbusConnection.open(target.path, target.guid, options);
    } catch (err) {
      if (!(err instanceof DbusConnectError)) throw err;
      reasons.push(`${entry.text}: ${err.message}`);
    }
  }
  throw new DbusConnectError(
    reasons.length === 1
      ? `cannot connect to the D-Bus bus at ${reasons[0]}`
      : `cannot connect to any D-Bus address (${reasons.join("; ")})`,
  );
}

interface PendingCall {
  resolve(m: DbusMessage): void;
  reject(e: Error): void;
  cancelTimer: () => void;
}

interface Subscriber {
  match: SignalMatch;
  handler: (signal: DbusMessage) => void;
}

/** An authenticated connection to a bus. Open one with connectBus or connectSessionBus. */
export class DbusConnection {
  /** This connection's unique name on the bus (`:1.42`). */
  uniqueName = "";
  /** The server's GUID. */
  readonly guid: string;
  readonly #conn: Deno.Conn;
  readonly #callTimeoutMs: number;
  readonly #maxMessageBytes: number;
  readonly #pending = new Map<number, PendingCall>();
  readonly #subscribers = new Set<Subscriber>();
  #serial = 0;
  #writing: Promise<void> = Promise.resolve();
  #closedBy: DbusDisconnectedError | undefined;

  private constructor(conn: Deno.Conn, guid: string, options: ConnectOptions) {
    this.#conn = conn;
    this.guid = guid;
    this.#callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.#maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Connects to one socket path (`\0name` for an abstract socket). Use connectBus instead. */
  static async open(
    path: string,
    expectedGuid: string | undefined,
    options: ConnectOptions = {},
  ): Promise<DbusConnection> {
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    let timedOut = false;
    let conn: Deno.Conn | undefined;
    // One deadline for the whole handshake: when it passes, closing the socket ends any read.
    const cancelTimer = after(timeoutMs, () => {
      timedOut = true;
      try {
        conn?.close();
      } catch { /* already closed */ }
    });
    try {
      try {
        conn = await Deno.connect({ transport: "unix", path });
      } catch (err) {
        throw new DbusConnectError(connectFailure(err), { cause: err });
      }
      if (timedOut) {
        conn.close();
        throw new DbusConnectError(`no answer within ${timeoutMs} ms`);
      }
      let auth;
      try {
        auth = await authenticate(conn, options.uid ?? Deno.uid() ?? 0, { expectedGuid });
      } catch (err) {
        try {
          conn.close();
        } catch { /* closed by the deadline */ }
        if (timedOut) {
          throw new DbusConnectError(`the bus did not authenticate us within ${timeoutMs} ms`);
        }
        throw new DbusConnectError((err as Error).message, { cause: err });
      }
      const bus = new DbusConnection(conn, auth.guid, options);
      bus.#readLoop(auth.rest);
      try {
        const hello = await bus.call({ ...BUS, member: "Hello" }, {
          timeoutMs: Math.max(1, timeoutMs),
        });
        bus.uniqueName = String(hello.body[0] ?? "");
      } catch (err) {
        bus.close();
        if (timedOut) {
          throw new DbusConnectError(`the bus did not answer Hello within ${timeoutMs} ms`);
        }
        throw new DbusConnectError(`Hello failed: ${(err as Error).message}`, { cause: err });
      }
      return bus;
    } finally {
      cancelTimer();
    }
  }

  /** Whether the connection has ended. */
  get closed(): boolean {
    return this.#closedBy !== undefined;
  }

  /**
   * Calls a method and waits for its reply. Throws DbusRemoteError for an ERROR reply,
   * DbusTimeoutError when no reply comes in time, DbusDisconnectedError when the connection
   * ends first, DbusError for an argument the codec cannot marshal or a message over the bound.
   */
  call(call: MethodCall, options: CallOptions = {}): Promise<DbusMessage> {
    if (this.#closedBy) return Promise.reject(this.#closedBy);
    const serial = this.#nextSerial();
    let bytes: Uint8Array;
    try {
      bytes = this.#encode({
        type: MessageType.METHOD_CALL,
        serial,
        destination: call.destination,
        path: call.path,
        interface: call.interface,
        member: call.member,
        signature: call.signature ?? "",
        body: call.body ?? [],
      });
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = options.timeoutMs ?? this.#callTimeoutMs;
    const what = `${call.interface ? call.interface + "." : ""}${call.member}`;
    return new Promise<DbusMessage>((resolve, reject) => {
      const cancelTimer = after(timeoutMs, () => {
        this.#pending.delete(serial);
        reject(new DbusTimeoutError(`no reply to ${what} within ${timeoutMs} ms`));
      });
      this.#pending.set(serial, { resolve, reject, cancelTimer });
      this.#send(bytes);
    });
  }

  /**
   * Subscribes to signals: adds a match rule on the bus, then calls `handler` for each matching
   * signal until the subscription is closed. Subscribe before the call that causes the signal.
   */
  async subscribe(
    match: SignalMatch,
    handler: (signal: DbusMessage) => void,
    options: CallOptions = {},
  ): Promise<Subscription> {
    const rule = matchRule(match);
    const subscriber = { match, handler };
    this.#subscribers.add(subscriber);
    try {
      await this.call({ ...BUS, member: "AddMatch", signature: "s", body: [rule] }, options);
    } catch (err) {
      this.#subscribers.delete(subscriber);
      throw err;
    }
    return {
      close: async () => {
        if (!this.#subscribers.delete(subscriber) || this.closed) return;
        await this.call({ ...BUS, member: "RemoveMatch", signature: "s", body: [rule] }, options)
          .catch(() => {}); // the rule dies with the connection anyway
      },
    };
  }

  /** Ends the connection; pending calls fail with DbusDisconnectedError. Idempotent. */
  close(): void {
    this.#fail(new DbusDisconnectedError("the D-Bus connection was closed"));
  }

  #nextSerial(): number {
    this.#serial = this.#serial >= 0xffffffff ? 1 : this.#serial + 1;
    return this.#serial;
  }

  #encode(m: DbusMessage): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(m);
    } catch (err) {
      throw new DbusError(`cannot marshal ${m.member ?? "a message"}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (bytes.length > this.#maxMessageBytes) {
      throw new DbusError(
        `a D-Bus message of ${bytes.length} bytes is over the limit of ${this.#maxMessageBytes}`,
      );
    }
    return bytes;
  }

  #send(bytes: Uint8Array): void {
    this.#writing = this.#writing.then(async () => {
      if (this.#closedBy) return;
      try {
        await writeAll(this.#conn as ByteStream, bytes);
      } catch (err) {
        this.#fail(
          new DbusDisconnectedError("the D-Bus connection broke while sending", { cause: err }),
        );
      }
    });
  }

  #fail(err: DbusDisconnectedError): void {
    if (this.#closedBy) return;
    this.#closedBy = err;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    for (const [serial, p] of this.#pending) {
      p.cancelTimer();
      this.#pending.delete(serial);
      p.reject(err);
    }
    this.#subscribers.clear();
  }

  async #readLoop(initial: Uint8Array): Promise<void> {
    // The socket alone must not keep the process alive: pending calls hold a timer.
    this.#conn.unref();
    let buf = new Uint8Array(Math.max(64 * 1024, initial.length));
    buf.set(initial);
    let len = initial.length;
    try {
      for (;;) {
        // Take every whole message in the buffer.
        let start = 0;
        for (;;) {
          const have = buf.subarray(start, len);
          const size = frameLength(have);
          if (size === undefined) break;
          if (size > this.#maxMessageBytes) {
            throw new DbusDisconnectedError(
              `the bus sent a message of ${size} bytes, over the limit of ${this.#maxMessageBytes}`,
            );
          }
          if (have.length < size) {
            if (buf.length < size) {
              const next = new Uint8Array(size);
              next.set(have);
              buf = next;
              len = have.length;
              start = 0;
            }
            break;
          }
          this.#dispatch(decodeMessage(have.subarray(0, size)));
          start += size;
        }
        if (start > 0) {
          buf.copyWithin(0, start, len);
          len -= start;
        }
        if (len === buf.length) {
          const next = new Uint8Array(buf.length * 2);
          next.set(buf);
          buf = next;
        }
        const n = await this.#conn.read(buf.subarray(len));
        if (n === null) throw new DbusDisconnectedError("the bus closed the D-Bus connection");
        len += n;
      }
    } catch (err) {
      if (this.#closedBy) return;
      this.#fail(
        err instanceof DbusDisconnectedError ? err : new DbusDisconnectedError(
          `the D-Bus connection broke: ${(err as Error).message}`,
          { cause: err },
        ),
      );
    }
  }

  #dispatch(m: DbusMessage): void {
    if (m.type === MessageType.METHOD_RETURN || m.type === MessageType.ERROR) {
      const p = m.replySerial === undefined ? undefined : this.#pending.get(m.replySerial);
      if (!p) return; // a late reply to a call that timed out
      this.#pending.delete(m.replySerial!);
      p.cancelTimer();
      if (m.type === MessageType.METHOD_RETURN) p.resolve(m);
      else {
        const text = typeof m.body[0] === "string" ? m.body[0] : "";
        p.reject(new DbusRemoteError(m.errorName ?? "(no error name)", text));
      }
    } else if (m.type === MessageType.SIGNAL) {
      for (const s of [...this.#subscribers]) {
        const { path, interface: iface, member } = s.match;
        if (path !== undefined && path !== m.path) continue;
        if (iface !== undefined && iface !== m.interface) continue;
        if (member !== undefined && member !== m.member) continue;
        try {
          s.handler(m);
        } catch { /* a subscriber's bug must not end the connection */ }
      }
    } else if (m.type === MessageType.METHOD_CALL && !((m.flags ?? 0) & NO_REPLY_EXPECTED)) {
      // We export no objects: say so rather than leave the caller waiting.
      this.#send(this.#encode({
        type: MessageType.ERROR,
        serial: this.#nextSerial(),
        replySerial: m.serial,
        destination: m.sender,
        errorName: DbusErrorNames.UNKNOWN_METHOD,
        signature: "s",
        body: ["this client exports no objects"],
      }));
    }
  }
}

/** A match rule for AddMatch; values are quoted (none of these may hold a quote). */
export function matchRule(match: SignalMatch): string {
  const parts = ["type='signal'"];
  for (const key of ["sender", "path", "interface", "member"] as const) {
    const v = match[key];
    if (v === undefined) continue;
    if (v.includes("'")) throw new DbusError(`a match rule value cannot contain a quote`);
    parts.push(`${key}='${v}'`);
  }
  return parts.join(",");
}

function connectFailure(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such socket (is the bus running?)";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.ConnectionRefused) {
    return "connection refused (the bus is not running)";
  }
  if (err instanceof Deno.errors.WouldBlock) {
    return "the bus is not accepting connections (its listen queue is full)";
  }
  return (err as Error).message;
}
