/**
 * The replaying side of lib/replay: serves `export` or `exec` from a replay record whose inputs
 * all still hold, before the command line, the config or the provider chain are loaded. A cache
 * hit is most calls of aws-vault, and most of its time was loading and running, cold, the code
 * that finds the session again.
 *
 * A record is used only when the call (argv up to `--`) and every variable the recorded run read
 * are as they were, the config file and the vault directory have the stamps they had, and the
 * session item still decrypts, is a session, and has the life the run asked of it. Anything else
 * (no record, a change, a wrong or missing passphrase, a locked agent) is a miss: the full run
 * then does what it always does, errors and prompts included. Nothing here prompts or writes.
 */
import { openFileKeyring, PASSPHRASE_ENV } from "../../backends/file.ts";
import type { Credentials } from "../credentials.ts";
import { childEnvironment, credentialProcessJson, formatExport } from "../exec/credential_env.ts";
import { lockDir } from "../fs/lock_dir.ts";
import { fileStamp, regularFileStamp } from "../fs/stamp.ts";
import { utf8Text } from "../encoding.ts";
import type { ExecOrRunOptions } from "../exec/exec_or_run.ts";
import type { Logger } from "../logger.ts";
import type { Runtime } from "../runtime.ts";
import type { Terminal } from "../terminal.ts";
import { decodeSessionData, SESSION_DESCRIPTION } from "../store/session_data.ts";
import { callRecords, matchingRecord, replayDir, type ReplayRecord, splitCall } from "./record.ts";

/** Options for replay. */
export interface ReplayOptions {
  /** Runs exec's command (default: execOrRunChild, which replaces this process). */
  runCommand?: (command: string, args: string[], options: ExecOrRunOptions) => Promise<number>;
}

/** Serves the call from its record; undefined when there is none that holds (run it in full). */
export async function replay(
  argv: string[],
  runtime: Runtime,
  log: Logger,
  options: ReplayOptions = {},
): Promise<number | undefined> {
  const found = await recordedCall(argv, runtime, log);
  if (!found) return undefined;
  const { record, child } = found;
  const plan = record.plan;
  if (plan.kind !== "exec") {
    const credentials = await served(found, runtime);
    if (!credentials) return undefined;
    runtime.stdout(
      plan.kind === "credential_process"
        ? credentialProcessJson(credentials)
        : formatExport(plan.format, credentials, plan),
    );
    return 0;
  }
  // While the session item decrypts (its key derivation, PBKDF2, runs on another thread): the
  // child's modules (one import: through `deno run main.ts` each builds a module graph of its
  // own) and the C library that replaces this process with the command (opening it and building
  // its call stub costs ~0.7-1 ms on a 2-core test VM, PBKDF2 1.3-2.2 ms).
  const { commandPath, execOrRunChild, libcReplacer } = await import(
    "../exec/exec_or_run.ts"
  );
  const run = options.runCommand ?? execOrRunChild;
  const replacer = options.runCommand ? undefined : (libcReplacer() ?? null);
  // What needs no credentials is done while the item still decrypts, the command's PATH lookup
  // too (childEnvironment leaves PATH as it is).
  const parent = runtime.env.toObject();
  const interactive = runtime.stdinIsTerminal();
  const path = commandPath(child[0], parent.PATH, replacer);
  const credentials = await served(found, runtime);
  if (!credentials) return undefined;
  return await run(child[0], child.slice(1), {
    env: childEnvironment(parent, { ...plan, credentials }),
    interactive,
    report: (text) => runtime.stderr(`aws-vault: ${text}\n`),
    replacer,
    ...(path !== undefined ? { commandPath: path } : {}),
  });
}

/**
 * A session item being read: its credentials (with an expiration), or undefined (a miss), and
 * the notices held back.
 */
type PendingSession = Promise<
  { credentials: Credentials & { expiration: Date }; notices: string[] } | undefined
>;

/**
 * The session's credentials once read, if it has the life the record asks, its held-back
 * notices told; undefined on a miss.
 */
async function served(
  found: { record: ReplayRecord; session: PendingSession },
  runtime: Runtime,
): Promise<Credentials | undefined> {
  const read = await found.session;
  if (!read) return undefined;
  const left = read.credentials.expiration.getTime() - runtime.now().getTime();
  if (left < found.record.minRemainingMs) return undefined;
  for (const text of read.notices) runtime.stderr(text);
  return read.credentials;
}

/**
 * The record of this call, when its inputs and stamps all hold, with its session item being
 * read (started, not awaited: exec loads what it needs meanwhile); undefined otherwise. Never
 * throws.
 */
async function recordedCall(
  argv: string[],
  runtime: Runtime,
  log: Logger,
): Promise<{ record: ReplayRecord; child: string[]; session: PendingSession } | undefined> {
  try {
    const { call, child } = splitCall(argv);
    const records = callRecords(replayDir(lockDir(runtime)), call);
    if (records.length === 0) return undefined;
    // The newest record's session item is read while the inputs and stamps are checked (the
    // inputs' digest runs on another thread, and so does the item's key derivation); the records
    // of one call from other environments (a terminal with the agent, a tool with the
    // passphrase) mostly name the same item. Reading is all it does (no prompt, no write,
    // notices held back): a record that does not hold drops it.
    const newest = records[0];
    const read = sessionOf(newest.vault.dir, newest.item, runtime, log);
    const record = await matchingRecord(records, call, runtime);
    if (!record || (record.plan.kind === "exec") !== (child.length > 0)) return undefined;
    if (!stampsHold(record)) return undefined;
    const same = record.vault.dir === newest.vault.dir && record.item === newest.item;
    return {
      record,
      child,
      session: same ? read : sessionOf(record.vault.dir, record.item, runtime, log),
    };
  } catch {
    return undefined;
  }
}

function stampsHold(record: ReplayRecord): boolean {
  let config: string | null | undefined;
  try {
    config = regularFileStamp(Deno.statSync(record.config.path));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) return false;
    config = null;
  }
  if (config !== record.config.stamp) return false;
  const vault = Deno.statSync(record.vault.dir);
  return vault.isDirectory && fileStamp(vault) === record.vault.stamp;
}

/** A terminal that is never asked: a passphrase prompt is the full run's. */
const NO_TERMINAL: Terminal = {
  readLine: () => Promise.reject(new Error("no prompt on replay")),
};

/**
 * The credentials of session item `item` of the file vault in `dir` if it still is a session
 * (with a token and an expiration), with the notices its reading held back; undefined for
 * anything else. Never rejects.
 */
async function sessionOf(
  dir: string,
  item: string,
  runtime: Runtime,
  log: Logger,
): PendingSession {
  try {
    // Notices (a refused agent socket) are held back: on a miss the full run tells them itself.
    const notices: string[] = [];
    const quiet: Runtime = { ...runtime, terminal: NO_TERMINAL, stderr: (t) => notices.push(t) };
    // With the passphrase at hand the item is decrypted here, and no agent is asked: the same
    // credentials, without looking for a socket (a path that is not there costs ~0.5 ms, cold).
    const fileCrypto = runtime.env.get(PASSPHRASE_ENV) === undefined
      ? (await import("../agent/file_crypto.ts")).agentFileCrypto(quiet, log)
      : undefined;
    const keyring = await openFileKeyring({ fileDir: dir, fileCrypto }, quiet, log);
    const found = await keyring.get(item);
    if (found?.description !== SESSION_DESCRIPTION) return undefined;
    const creds = decodeSessionData(utf8Text(found.data));
    if (!creds?.sessionToken || !creds.expiration) return undefined;
    return { credentials: { ...creds, expiration: creds.expiration }, notices };
  } catch {
    return undefined;
  }
}
