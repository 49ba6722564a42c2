/**
 * The credential agent's client: one request per connection, with a reply timeout and size
 * limit; and the ItemCrypto the file backend uses when an agent serves its vault. Loaded on every
 * command that opens the file backend, so it stays small: no jose, no `node:` module.
 */
import type { ItemCrypto } from "../../backends/file.ts";
import { decodeItemJson, encodeItemJson } from "../../backends/item_json.ts";
import { type Item, KeyringError } from "../../backends/keyring.ts";
import { UserError } from "../errors.ts";
import type { Env } from "../runtime.ts";
import {
  AGENT_PROTOCOL_VERSION,
  type AgentReply,
  type AgentRequest,
  type AgentStatus,
  encodeLine,
  LineReader,
  LineTooLong,
  MAX_REPLY_BYTES,
  writeAll,
} from "./protocol.ts";
import {
  type AgentSocketPlace,
  agentSocketPlace,
  AgentSocketRefused,
  checkSocketDir,
  checkSocketFile,
  currentUid,
} from "./socket_path.ts";

export { currentUid };
import { after, sleep } from "../timer.ts";

/** How long a client waits for a reply (a first decrypt derives a key: milliseconds). */
const REPLY_TIMEOUT_MS = 30_000;

/** Nothing listens on the socket (none there, or a dead agent's socket file). */
export class AgentNotRunning extends Error {}

/** Options for agentRequest. */
export interface AgentRequestOptions {
  /** Default 30 s. */
  timeoutMs?: number;
}

/** Waits between tries when the agent is at its connection limit (about 2 s in all). */
const BUSY_RETRY_MS = [10, 20, 40, 80, 160, 320, 640, 800];

/** The agent turned the connection away (`busy`, or closed it unanswered): worth a new try. */
class TurnedAway extends Error {}

/**
 * Sends one request and returns the reply. Throws AgentNotRunning or a UserError. An agent at its
 * connection limit answers `busy` and closes; under a burst, that close can reach the client as a
 * reset before the line does. Both are tried again for a while: every request is safe to repeat.
 */
export async function agentRequest(
  socketPath: string,
  request: AgentRequest,
  options: AgentRequestOptions = {},
): Promise<AgentReply> {
  for (let attempt = 0;; attempt++) {
    try {
      const reply = await requestOnce(socketPath, request, options);
      if (reply.ok || reply.code !== "busy" || attempt >= BUSY_RETRY_MS.length) return reply;
    } catch (err) {
      if (!(err instanceof TurnedAway)) throw err;
      if (attempt >= BUSY_RETRY_MS.length) {
        throw new UserError(
          `the credential agent at ${socketPath} closed the connection before answering`,
        );
      }
    }
    await sleep(BUSY_RETRY_MS[attempt]);
  }
}

async function requestOnce(
  socketPath: string,
  request: AgentRequest,
  options: AgentRequestOptions,
): Promise<AgentReply> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socketPath });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.ConnectionRefused) {
      throw new AgentNotRunning();
    }
    throw new UserError(`cannot connect to the credential agent at ${socketPath}: ${errText(err)}`);
  }
  const timeoutMs = options.timeoutMs ?? REPLY_TIMEOUT_MS;
  let timedOut = false;
  const cancelTimer = after(timeoutMs, () => {
    timedOut = true;
    close(conn);
  });
  try {
    await writeAll(conn, encodeLine(request));
    const line = await new LineReader(conn, MAX_REPLY_BYTES).next();
    if (line === undefined) throw new Error("closed");
    return parseReply(new TextDecoder().decode(line));
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (timedOut) {
      throw new UserError(
        `the credential agent at ${socketPath} did not answer within ${timeoutMs / 1000}s`,
      );
    }
    if (err instanceof LineTooLong) {
      throw new UserError(`the credential agent at ${socketPath} sent an oversized reply`);
    }
    throw new TurnedAway();
  } finally {
    cancelTimer();
    close(conn);
  }
}

function parseReply(text: string): AgentReply {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const r = raw as Record<string, unknown> | undefined;
  if (typeof r !== "object" || r === null || typeof r.ok !== "boolean") {
    throw new UserError("the credential agent sent a reply that is not valid");
  }
  if (r.v !== AGENT_PROTOCOL_VERSION) {
    throw new UserError(
      `the credential agent speaks protocol version ${
        JSON.stringify(r.v)
      }; this aws-vault speaks ${AGENT_PROTOCOL_VERSION} (restart the agent)`,
    );
  }
  return r as unknown as AgentReply;
}

/** What is at the agent's socket place. */
export type AgentProbe =
  | { state: "absent" }
  | { state: "stale" }
  | { state: "running"; status: AgentStatus };

/** Checks the socket place (refusing loose permissions) and asks a listening agent its status. */
export async function probeAgent(place: AgentSocketPlace, uid: number): Promise<AgentProbe> {
  if (!(await checkSocketDir(place.dir, uid))) return { state: "absent" };
  if (!(await checkSocketFile(place.path, uid))) return { state: "absent" };
  try {
    const reply = await agentRequest(place.path, { v: AGENT_PROTOCOL_VERSION, op: "status" });
    if (reply.ok && reply.status) return { state: "running", status: reply.status };
    throw new UserError(`the credential agent at ${place.path} did not report its status`);
  } catch (err) {
    if (err instanceof AgentNotRunning) return { state: "stale" };
    throw err;
  }
}

/** A vault directory as the agent names it: absolute (the agent runs in `/`). */
export function absoluteVaultDir(dir: string): string {
  return dir.startsWith("/") ? dir : `${Deno.cwd().replace(/\/+$/, "")}/${dir}`;
}

/** Options for agentCrypto. */
export interface AgentCryptoOptions {
  env: Env;
  /** One-line notices (a refused socket place). */
  notice: (text: string) => void;
  debug: (message: string) => void;
}

/**
 * The ItemCrypto of a running agent for vault `dir`, or undefined when no agent socket is there
 * (one lstat each for the directory and the socket: this runs on every command).
 */
export async function agentCrypto(
  dir: string,
  options: AgentCryptoOptions,
): Promise<ItemCrypto | undefined> {
  const uid = currentUid();
  if (uid === undefined) return undefined;
  try {
    const place = agentSocketPlace(options.env, uid);
    if (!(await checkSocketDir(place.dir, uid))) return undefined;
    if (!(await checkSocketFile(place.path, uid))) return undefined;
    return new AgentItemCrypto(place.path, absoluteVaultDir(dir), options.debug);
  } catch (err) {
    if (!(err instanceof AgentSocketRefused) && !(err instanceof UserError)) throw err;
    options.notice(`not using the credential agent: ${err.message}`);
    return undefined;
  }
}

/** Item encryption by a running agent. Once it is gone or serves another vault, it steps aside. */
class AgentItemCrypto implements ItemCrypto {
  readonly #socketPath: string;
  readonly #dir: string;
  readonly #debug: (message: string) => void;
  #aside = false;

  constructor(socketPath: string, dir: string, debug: (message: string) => void) {
    this.#socketPath = socketPath;
    this.#dir = dir;
    this.#debug = debug;
  }

  async decrypt(text: string, path: string): Promise<Item | undefined> {
    const reply = await this.#ask({
      v: AGENT_PROTOCOL_VERSION,
      op: "decrypt",
      dir: this.#dir,
      path,
      jwe: text,
    });
    if (!reply) return undefined;
    if (typeof reply.item !== "string") throw this.#invalid();
    return decodeItemJson(reply.item, path);
  }

  async encrypt(item: Item, options: { keyHeader?: string }): Promise<string | undefined> {
    const reply = await this.#ask({
      v: AGENT_PROTOCOL_VERSION,
      op: "encrypt",
      dir: this.#dir,
      item: encodeItemJson(item),
      ...(options.keyHeader !== undefined ? { keyHeader: options.keyHeader } : {}),
    });
    if (!reply) return undefined;
    if (typeof reply.jwe !== "string") throw this.#invalid();
    return reply.jwe;
  }

  async unlock(passphrase: string): Promise<void> {
    const reply = await this.#ask({
      v: AGENT_PROTOCOL_VERSION,
      op: "unlock",
      dir: this.#dir,
      passphrase,
    }, { quiet: true });
    if (reply) this.#debug("unlocked the credential agent");
  }

  /** The successful reply; undefined when the agent cannot serve (the caller then does it). */
  async #ask(
    request: AgentRequest,
    options: { quiet?: boolean } = {},
  ): Promise<(AgentReply & { ok: true }) | undefined> {
    if (this.#aside) return undefined;
    this.#debug(`credential agent: ${request.op}`);
    let reply: AgentReply;
    try {
      reply = await agentRequest(this.#socketPath, request);
    } catch (err) {
      if (!(err instanceof AgentNotRunning)) throw err;
      this.#debug(`no credential agent listens on ${this.#socketPath}`);
      this.#aside = true;
      return undefined;
    }
    if (reply.ok) return reply;
    switch (reply.code) {
      case "locked":
        this.#debug("the credential agent is locked");
        return undefined;
      case "wrong-vault":
        this.#debug(reply.message);
        this.#aside = true;
        return undefined;
      case "cannot-decrypt":
      case "invalid-item":
        throw new KeyringError(String(reply.message));
      default:
        if (options.quiet) {
          this.#debug(`the credential agent refused: ${reply.code}`);
          return undefined;
        }
        throw new KeyringError(`the credential agent refused: ${String(reply.message)}`);
    }
  }

  #invalid(): KeyringError {
    return new KeyringError("the credential agent sent a reply that is not valid");
  }
}

function close(conn: Deno.UnixConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
