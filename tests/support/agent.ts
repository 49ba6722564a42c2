/**
 * A vault home with its own credential agent socket (never the shared default place), and
 * helpers to start, watch and talk to real agent processes.
 */
import { type CliResult, runCli } from "./cli.ts";
import { type VaultHome, vaultHome } from "./vault_home.ts";

/** The passphrase vaultHome's environment carries. */
export const PASSPHRASE = "test-passphrase";

/** A vault home whose agent socket is inside it. */
export interface AgentHome extends VaultHome {
  /** The socket path (`AWS_VAULT_AGENT_SOCK`). */
  sock: string;
  /** The environment of a command that must rely on the agent: no passphrase in it. */
  clientEnv: Record<string, string>;
  /** Runs aws-vault with no terminal (`setsid`) and `clientEnv` plus `extra`. */
  run(args: string[], extra?: Record<string, string>): Promise<CliResult>;
  /** `agent start` with the passphrase in the environment; returns the agent's pid. */
  start(args?: string[]): Promise<number>;
}

/** Creates an agent home with this config text. */
export async function agentHome(config: string): Promise<AgentHome> {
  const base = await vaultHome(config);
  const sock = `${base.dir}/run/agent.sock`;
  base.env.AWS_VAULT_AGENT_SOCK = sock;
  const clientEnv = { ...base.env };
  delete clientEnv.AWS_VAULT_FILE_PASSPHRASE;
  const run = (args: string[], extra: Record<string, string> = {}) =>
    runCli(args, { env: { ...clientEnv, ...extra }, wrapper: ["setsid", "-w"] });
  return {
    ...base,
    sock,
    clientEnv,
    run,
    async start(args = []) {
      const r = await runCli(["agent", "start", ...args], { env: base.env });
      if (r.code !== 0) throw new Error(`agent start failed: ${r.stderr}`);
      const pid = Number(/\(pid (\d+)\)/.exec(r.stderr)?.[1]);
      if (!pid) throw new Error(`no pid in: ${r.stderr}`);
      return pid;
    },
    async cleanup() {
      await runCli(["agent", "stop"], { env: clientEnv }).catch(() => {});
      await base.cleanup();
    },
  };
}

/** Whether a process lives (a zombie counts as dead). */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits until `check` holds; throws after `limitMs` (a hang guard, not a timing assertion). */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  limitMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A raw connection to an agent socket, for protocol tests. */
export class RawConn {
  readonly conn: Deno.UnixConn;
  #buffer = "";

  private constructor(conn: Deno.UnixConn) {
    this.conn = conn;
  }

  static async open(path: string): Promise<RawConn> {
    return new RawConn(await Deno.connect({ transport: "unix", path }));
  }

  async send(data: string | Uint8Array): Promise<void> {
    let bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    while (bytes.length > 0) bytes = bytes.subarray(await this.conn.write(bytes));
  }

  /** The next reply line as JSON; undefined when the agent closed the connection. */
  async reply(): Promise<Record<string, unknown> | undefined> {
    const buf = new Uint8Array(65536);
    for (;;) {
      const nl = this.#buffer.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        return JSON.parse(line);
      }
      let n: number | null;
      try {
        n = await this.conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) return undefined;
      this.#buffer += new TextDecoder().decode(buf.subarray(0, n));
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed
    }
  }
}

/** Every file under `dir` with its bytes (a snapshot to compare). */
export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile) out.set(p, await Deno.readTextFile(p));
      else out.set(p, `<${e.isSymlink ? "link" : "other"}>`);
    }
  };
  await walk(dir);
  return out;
}
