/**
 * moto_server as an independent STS + IAM: started on a free loopback port for a test, stopped
 * after. `awsCli` runs the AWS CLI v2 (/usr/bin/aws) against it.
 */
import { commandPeer, type Peer } from "./peers.ts";

/**
 * The AWS CLI v2 (Debian `awscli`); the `aws` first on PATH may be v1. Debian's 2.9 predates
 * `AWS_ENDPOINT_URL`, so calls to moto pass `--endpoint-url`.
 */
export const AWS_CLI_V2 = "/usr/bin/aws";

/** A running moto_server. */
export interface Moto {
  url: string;
  stop(): Promise<void>;
}

/** moto_server and the AWS CLI v2. */
export const MOTO_AND_CLI: Peer[] = [
  commandPeer("moto_server", "moto_server", ["--help"]),
  commandPeer("aws CLI v2", AWS_CLI_V2, ["--version"]),
];

/** Starts moto_server on a free port and waits until it answers. */
export async function startMoto(): Promise<Moto> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command("moto_server", {
    args: ["-H", "127.0.0.1", "-p", String(port)],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    await child.status;
  };
  // moto imports for seconds, and much longer on a loaded machine (test files run in parallel):
  // wait up to two minutes, but stop at once if it died.
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 1200 && !exited; i++) {
    try {
      const r = await fetch(`${url}/moto-api/`);
      await r.body?.cancel();
      return { url, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stop();
  throw new Error(exited ? "moto_server exited before it answered" : "moto_server did not start");
}

/** Runs the AWS CLI v2 against moto with admin test credentials; returns parsed JSON stdout. */
export async function awsCli(moto: Moto, args: string[]): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(AWS_CLI_V2, {
    args: [...args, "--endpoint-url", moto.url, "--output", "json"],
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      AWS_ACCESS_KEY_ID: "AKIAMOTOADMIN0000000",
      AWS_SECRET_ACCESS_KEY: "moto-admin-secret",
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_ENDPOINT_URL: moto.url,
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`aws ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  const text = dec.decode(out.stdout).trim();
  return text ? JSON.parse(text) : {};
}
