/**
 * `aws-vault agent start|stop|status|lock`: the credential agent that holds the file vault open,
 * so its passphrase is typed once per work session (lib/agent).
 */
import { FileKeyring, fileVaultDir, PASSPHRASE_ENV } from "../../backends/file.ts";
import { formatDuration } from "../duration.ts";
import { UsageError, UserError } from "../errors.ts";
import { absoluteVaultDir, agentRequest, currentUid, probeAgent } from "../agent/client.ts";
import { listeningAgent, runDetachedAgent, spawnAgent } from "../agent/daemon.ts";
import { AGENT_PROTOCOL_VERSION, type AgentStatus } from "../agent/protocol.ts";
import { type AgentSocketPlace, agentSocketPlace, checkSocketDir } from "../agent/socket_path.ts";
import { rfc3339 } from "../rfc3339.ts";
import { withLock } from "../fs/lock.ts";
import type { CommandContext } from "./global.ts";

/** The default lifetime of an agent. */
export const DEFAULT_AGENT_TIMEOUT_MS = 8 * 3600_000;
/** The default idle time after which an agent locks. */
export const DEFAULT_AGENT_IDLE_MS = 3600_000;

/** `agent start`'s options (durations in milliseconds; 0 means never). */
export interface AgentStartOptions {
  timeout?: number;
  idle?: number;
  /** Serve in this process instead of detaching (systemd units). */
  foreground?: boolean;
  /** Start without a passphrase: the first command that needs the vault asks for it, once. */
  locked?: boolean;
  /** Hidden: this process is the detached agent. */
  daemonChild?: boolean;
}

/** `agent start`. */
export async function agentStartCommand(
  ctx: CommandContext,
  opts: AgentStartOptions,
): Promise<number> {
  if (opts.daemonChild) return await runDetachedAgent();
  const { runtime } = ctx;
  const { place, uid } = placeOf(ctx);
  refuseOtherBackend(ctx);
  const dir = absoluteVaultDir(fileVaultDir(ctx.options, runtime));
  const timeoutMs = checkedLimit("--timeout", opts.timeout ?? DEFAULT_AGENT_TIMEOUT_MS);
  const idleMs = checkedLimit("--idle", opts.idle ?? DEFAULT_AGENT_IDLE_MS);
  const running = await probeAgent(place, uid);
  if (running.state === "running") throw alreadyRunning(running.status, place);
  let passphrase: string | undefined;
  if (!opts.locked) {
    // Proved against the vault before anything is created or started.
    passphrase = await new FileKeyring(dir, {
      passphrase: runtime.env.get(PASSPHRASE_ENV),
      terminal: runtime.terminal,
      debug: (m) => ctx.log.debug(m),
    }).verifiedPassphrase();
  }
  const settings = {
    socketPath: place.path,
    dir,
    timeoutMs,
    idleMs,
    passphrase,
  };
  await checkSocketDir(place.dir, uid, { create: true });
  // Two starts at once: the second finds the first one's agent and says so.
  const started = await withLock(`${place.path}.lock`, async () => {
    const again = await probeAgent(place, uid);
    if (again.state === "running") throw alreadyRunning(again.status, place);
    if (again.state === "stale") await Deno.remove(place.path).catch(() => {});
    if (opts.foreground) return await listeningAgent(settings, (m) => ctx.log.debug(m));
    return await spawnAgent(settings, runtime.env.toObject());
  }, { timeoutMs: 60_000 });
  const pid = typeof started === "number" ? started : Deno.pid;
  runtime.stderr(
    `aws-vault: agent started (pid ${pid}) for vault ${dir} on ${place.path}; ${
      describeLimits(settings)
    }\n`,
  );
  if (typeof started !== "number") await started.serve();
  return 0;
}

/** `agent stop`: the agent wipes what it holds and exits. */
export async function agentStopCommand(ctx: CommandContext): Promise<number> {
  const { place, uid } = placeOf(ctx);
  const probe = await probeAgent(place, uid);
  if (probe.state === "stale") {
    await Deno.remove(place.path).catch(() => {});
    ctx.runtime.stderr(`aws-vault: no agent was running (removed its dead socket ${place.path})\n`);
    return 0;
  }
  if (probe.state === "absent") {
    ctx.runtime.stderr(`aws-vault: no agent is running (${place.path})\n`);
    return 0;
  }
  await expectOk(place, "stop");
  ctx.runtime.stderr(`aws-vault: agent stopped (pid ${probe.status.pid})\n`);
  return 0;
}

/** `agent lock`: the agent forgets the passphrase and keeps running. */
export async function agentLockCommand(ctx: CommandContext): Promise<number> {
  const { place, uid } = placeOf(ctx);
  const probe = await probeAgent(place, uid);
  if (probe.state !== "running") throw new UserError(`no agent is running (${place.path})`);
  await expectOk(place, "lock");
  ctx.runtime.stderr(
    `aws-vault: agent locked (pid ${probe.status.pid}); the next command asks for the passphrase\n`,
  );
  return 0;
}

/** `agent status`: exit 0 when one runs (locked or not), 1 when none does. */
export async function agentStatusCommand(ctx: CommandContext): Promise<number> {
  const { place, uid } = placeOf(ctx);
  const probe = await probeAgent(place, uid);
  if (probe.state !== "running") {
    ctx.runtime.stdout(`no agent is running (${place.path})\n`);
    return 1;
  }
  const s = probe.status;
  const lines = [
    `agent running (pid ${s.pid}) on ${place.path}`,
    `vault: ${s.dir}`,
    `since: ${rfc3339(new Date(s.startedAt))}`,
    s.locked
      ? "locked: yes (the next command asks for the passphrase)"
      : `locked: no${s.locksAt ? `; locks when idle at ${rfc3339(new Date(s.locksAt))}` : ""}`,
    `exits: ${s.exitsAt ? rfc3339(new Date(s.exitsAt)) : "never (no timeout)"}`,
    `items held in memory: ${s.cachedItems}`,
  ];
  ctx.runtime.stdout(lines.join("\n") + "\n");
  return 0;
}

/** Longest --timeout or --idle: a year (longer is a typo, and past a date's range). */
const MAX_LIMIT_MS = 366 * 24 * 3600_000;

function checkedLimit(flag: string, ms: number): number {
  if (ms > MAX_LIMIT_MS) throw new UsageError(`${flag} must be at most a year (0: never)`);
  return ms;
}

function placeOf(ctx: CommandContext): { place: AgentSocketPlace; uid: number } {
  const uid = currentUid();
  if (uid === undefined) throw new UserError("the agent needs Unix sockets (not on Windows)");
  return { place: agentSocketPlace(ctx.runtime.env, uid), uid };
}

function refuseOtherBackend(ctx: CommandContext): void {
  const backend = ctx.options.backend;
  if (backend && backend !== "file") {
    throw new UserError(
      `the agent serves the file backend only, not '${backend}' (pass and the Secret Service ` +
        "have their own agents: gpg-agent and the keyring daemon)",
    );
  }
}

function alreadyRunning(status: AgentStatus, place: AgentSocketPlace): UserError {
  return new UserError(`an agent is already running (pid ${status.pid}) on ${place.path}`);
}

async function expectOk(place: AgentSocketPlace, op: "stop" | "lock"): Promise<void> {
  const reply = await agentRequest(place.path, { v: AGENT_PROTOCOL_VERSION, op });
  if (!reply.ok) throw new UserError(`the agent refused '${op}': ${reply.message}`);
}

function describeLimits(s: { timeoutMs: number; idleMs: number; passphrase?: string }): string {
  const parts = [
    s.passphrase === undefined ? "locked until the first command unlocks it" : "unlocked",
    s.idleMs > 0 ? `locks after ${formatDuration(s.idleMs)} idle` : "never locks when idle",
    s.timeoutMs > 0 ? `exits after ${formatDuration(s.timeoutMs)}` : "never exits by itself",
  ];
  return parts.join(", ");
}
