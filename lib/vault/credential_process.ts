/**
 * `credential_process` as a source (reference 2.9): the command prints the AWS CLI's
 * credential_process JSON. Unlike aws-vault, long-term keys (no SessionToken, no Expiration)
 * are accepted; they are used as they are and never cached.
 */
import { UserError } from "../errors.ts";
import { objectFields } from "../go_json.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import { runSourceProcess } from "./source_process.ts";
import { CREDENTIAL_PROCESS_CHAIN_VAR } from "./credential_process_loop.ts";

/** Settings of one credential_process source. */
export interface CredentialProcessOptions {
  profileName: string;
  command: string;
  /** The child's environment (our own minus private variables). */
  env: Record<string, string>;
}

const MAX_REPLY_BYTES = 1 << 20;

/** Runs the command on every retrieve (wrap it in a CachedSessionProvider). */
export class CredentialProcessProvider implements CredentialProvider {
  readonly #o: CredentialProcessOptions;

  constructor(options: CredentialProcessOptions) {
    this.#o = options;
  }

  /** The credentials the command printed. */
  async retrieve(): Promise<Credentials> {
    const o = this.#o;
    const label = `profile ${o.profileName}: credential_process`;
    // A command that runs aws-vault for this same profile would wait on our own lock forever.
    const running = o.env[CREDENTIAL_PROCESS_CHAIN_VAR];
    const env = {
      ...o.env,
      [CREDENTIAL_PROCESS_CHAIN_VAR]: running ? `${running},${o.profileName}` : o.profileName,
    };
    const out = await runSourceProcess(o.command, { label, env, maxBytes: MAX_REPLY_BYTES });
    return parseCredentialProcessOutput(out, label);
  }
}

/** Parses credential_process JSON; a UserError (never quoting the reply) when it is not that. */
export function parseCredentialProcessOutput(text: string, label: string): Credentials {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError(`${label} did not print JSON`);
  }
  const f = objectFields(raw);
  if (!f) throw new UserError(`${label} did not print a JSON object`);
  const version = f.get("version");
  if (version !== undefined && version !== 1) {
    throw new UserError(`${label} printed Version ${JSON.stringify(version)}; only 1 is known`);
  }
  const str = (name: string): string | undefined => {
    const v = f.get(name.toLowerCase());
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") throw new UserError(`${label}: ${name} is not a string`);
    return v;
  };
  const accessKeyId = str("AccessKeyId");
  const secretAccessKey = str("SecretAccessKey");
  if (!accessKeyId || !secretAccessKey) {
    throw new UserError(`${label} printed no AccessKeyId and SecretAccessKey`);
  }
  const sessionToken = str("SessionToken");
  const expirationText = str("Expiration");
  let expiration: Date | undefined;
  if (expirationText) {
    expiration = new Date(expirationText);
    if (Number.isNaN(expiration.getTime())) {
      throw new UserError(`${label}: Expiration is not an RFC 3339 time`);
    }
  }
  return {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    ...(expiration ? { expiration } : {}),
  };
}
