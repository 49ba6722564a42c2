/**
 * Starting the agent in the background, as ssh-agent and gpg-agent do: `agent start` re-runs
 * this program with a hidden flag, detached into its own session (setsid: no controlling
 * terminal, so closing the shell does not hang it up), in `/`, with stderr on /dev/null. Its
 * settings and the passphrase travel on its stdin, never in its argv or environment; it answers
 * one line on stdout (ready, or why not), after which both pipes are closed.
 */
import { errorLine } from "../errors.ts";
import { withoutPrivateVariables } from "../process/env.ts";
import { UserError } from "../errors.ts";
import { LineReader } from "./protocol.ts";
import { AgentServer } from "./server.ts";

/** The hidden flag of `agent start` that makes the process the detached agent. */
export const DAEMON_CHILD_FLAG = "--daemon-child";

/** How long `agent start` waits for the detached agent to listen (it proves the passphrase). */
const START_TIMEOUT_MS = 60_000;

/** What the detached agent is told on its stdin. */
export interface AgentSettings {
  socketPath: string;
  /** The vault directory. */
  dir: string;
  timeoutMs: number;
  idleMs: number;
  /** Absent: start locked (the first command that needs the vault unlocks it). */
  passphrase?: string;
}

/** Builds an agent, proves the passphrase (a UserError when wrong) and binds its socket. */
export async function listeningAgent(
  settings: AgentSettings,
  debug?: (message: string) => void,
): Promise<AgentServer> {
  const server = new AgentServer({
    socketPath: settings.socketPath,
    dir: settings.dir,
    timeoutMs: settings.timeoutMs,
    idleMs: settings.idleMs,
    debug,
  });
  if (settings.passphrase !== undefined) await server.unlock(settings.passphrase);
  server.listen();
  return server;
}

/** The command line that runs this program again (compiled, `deno run` of a file or a URL). */
export function selfCommand(): { cmd: string; args: string[] } {
  if (Deno.build.standalone) return { cmd: Deno.execPath(), args: [] };
  const main = Deno.mainModule;
  const args = ["run", "-A", "--quiet"];
  if (main.startsWith("file:")) {
    const path = decodeURIComponent(new URL(main).pathname);
    const config = `${path.slice(0, path.lastIndexOf("/"))}/deno.json`;
    let hasConfig = false;
    try {
      hasConfig = Deno.statSync(config).isFile;
    } catch {
      // a bundle or a script without a configuration file
    }
    args.push(...(hasConfig ? ["--config", config] : ["--no-config"]), path);
  } else {
    args.push(main);
  }
  return { cmd: Deno.execPath(), args };
}

/** Starts the detached agent and waits until it listens; returns its pid. */
export async function spawnAgent(
  settings: AgentSettings,
  env: Record<string, string>,
): Promise<number> {
  const self = selfCommand();
  const child = new Deno.Command(self.cmd, {
    args: [...self.args, "agent", "start", DAEMON_CHILD_FLAG],
    env: withoutPrivateVariables(env),
    clearEnv: true,
    cwd: "/",
    detached: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode(JSON.stringify(settings) + "\n"));
    await writer.close();
  } catch {
    // It died before reading: its exit status below says so.
  }
  const reader = child.stdout.getReader();
  // An agent that never answers is killed rather than waited for.
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
  }, START_TIMEOUT_MS);
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      if (text.includes("\n") || text.length > 4096) break;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
  let answer: { ok?: boolean; pid?: number; message?: string } = {};
  try {
    answer = JSON.parse(text.split("\n")[0]);
  } catch {
    // no answer: it exited
  }
  if (answer.ok && typeof answer.pid === "number") {
    child.unref();
    return answer.pid;
  }
  const status = await child.status;
  throw new UserError(
    `the agent did not start: ${answer.message ?? `it exited with code ${status.code}`}`,
  );
}

/** The detached agent's main: reads its settings, listens, answers, serves. Returns the exit code. */
export async function runDetachedAgent(): Promise<number> {
  let server: AgentServer;
  try {
    const line = await new LineReader(Deno.stdin, 1 << 16).next();
    if (!line) throw new UserError("no settings on stdin");
    const settings = JSON.parse(new TextDecoder().decode(line)) as AgentSettings;
    server = await listeningAgent(settings);
  } catch (err) {
    await answer({ ok: false, message: errorLine(err) });
    return 1;
  }
  await answer({ ok: true, pid: Deno.pid });
  try {
    Deno.stdin.close();
    Deno.stdout.close();
  } catch {
    // already closed
  }
  await server.serve();
  return 0;
}

async function answer(value: unknown): Promise<void> {
  try {
    await Deno.stdout.write(new TextEncoder().encode(JSON.stringify(value) + "\n"));
  } catch {
    // `agent start` went away; it will not read the answer.
  }
}
