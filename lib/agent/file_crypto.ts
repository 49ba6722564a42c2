/** The file backend's item encryption through a running credential agent (lib/agent). */
import type { BackendOptions } from "../../backends/mod.ts";
import type { Logger } from "../logger.ts";
import type { Runtime } from "../runtime.ts";
import { mayHaveAgent } from "./socket_path.ts";

/**
 * A running agent encrypts and decrypts for the file backend. Its client loads only when
 * something is at the socket path: most calls have no agent, and a cache hit is short.
 */
export function agentFileCrypto(runtime: Runtime, log: Logger): BackendOptions["fileCrypto"] {
  return async (dir) => {
    if (!mayHaveAgent(runtime.env)) return undefined;
    return (await import("./client.ts")).agentCrypto(dir, {
      env: runtime.env,
      notice: (text) => runtime.stderr(`aws-vault: ${text}\n`),
      debug: (m) => log.debug(m),
    });
  };
}
