/**
 * The recording side of lib/replay: after a full run of `export` or `exec` handed out a cached
 * session, records the decision (lib/replay/record.ts) when nothing else could have gone into
 * it: the file backend, named explicitly (an automatic choice depends on what D-Bus answers);
 * an absolute config path and vault directory, both left alone for QUIET_MS (lib/fs/stamp.ts);
 * no debug output, no notice, no prompt; the credentials handed out are the session item's.
 */
import type { Credentials } from "../credentials.ts";
import { lockDir } from "../fs/lock_dir.ts";
import { isQuiet, regularFileStamp } from "../fs/stamp.ts";
import type { Logger } from "../logger.ts";
import type { Runtime } from "../runtime.ts";
import type { Services } from "../vault/services.ts";
import {
  callHash,
  inputsDigest,
  RECORD_FORMAT,
  replayDir,
  type ReplayPlan,
  type ReplayRecord,
  saveRecord,
  splitCall,
} from "./record.ts";
import type { RunWatch } from "./watch.ts";

/** What a command decided, for recordReplay. */
export interface ReplayDecision {
  plan: ReplayPlan;
  /** What the command handed out (the very object the session store returned). */
  credentials: Credentials;
  /** exec: the child's command line (`[command, ...args]`); export: none. */
  child?: readonly string[];
  services: Services;
  /** The command's flags that rule a record out whatever it decided. */
  flags: { mfaToken?: string; ssoSync?: boolean; profileEnv?: boolean };
}

/** What recordReplay needs of the command's context. */
export interface RecordContext {
  runtime: Runtime;
  log: Logger;
  watch?: RunWatch;
}

/**
 * Records the decision when the run qualifies (see the module doc). Best effort: a record that
 * cannot be written only costs the next call its speed; never throws.
 */
export async function recordReplay(ctx: RecordContext, decision: ReplayDecision): Promise<void> {
  const { watch, log } = ctx;
  if (!watch) return;
  try {
    const record = log.debugEnabled
      ? "--debug (a replay would not log)"
      : await recordOf(ctx.runtime, watch, decision);
    if (typeof record === "string") {
      log.debug(`not recording this call for replay: ${record}`);
      return;
    }
    await saveRecord(replayDir(lockDir(ctx.runtime)), record, ctx.runtime.now());
  } catch (err) {
    log.debug(`cannot record this call for replay: ${(err as Error).message}`);
  }
}

/** The record of this run, or why there is none. */
async function recordOf(
  runtime: Runtime,
  watch: RunWatch,
  decision: ReplayDecision,
): Promise<ReplayRecord | string> {
  const { flags } = decision;
  if (flags.mfaToken) return "an MFA code is on the command line";
  if (flags.ssoSync || flags.profileEnv) return "the run writes the AWS CLI's SSO cache";
  if (watch.spoke) return "it wrote to stderr or used the terminal";
  const use = watch.uses.findLast((u) => u.credentials === decision.credentials);
  if (!use) return "the credentials are not a cached session's";
  const { call, child } = splitCall([...watch.argv]);
  const wanted = decision.child ?? [];
  if (child.length !== wanted.length || child.some((a, i) => a !== wanted[i])) {
    // exec's command must follow a `--`, so that the record names the call without it.
    return "the command line has no `--` just before the command, or one without a command";
  }
  if (decision.plan.kind === "exec" && child.length === 0) return "no command";
  const { services } = decision;
  if (services.options.backend !== "file") return "the backend is not named `file`";
  const snapshot = await (await services.keyring()).keysSnapshot?.();
  const dir = snapshot?.store.startsWith("file:") ? snapshot.store.slice(5) : undefined;
  if (!snapshot || !dir?.startsWith("/")) return "the vault changed within 2.5 s";
  // The vault and the config as they are now must be what the decision was made from.
  if (use.keysStamp !== snapshot.stamp) return "the vault changed since the session was found";
  const config = await services.config();
  if (!config.path.startsWith("/")) return "the config path is relative";
  const readStamp = config.readStamp?.();
  if (readStamp === undefined) return "the config changed while it was read";
  let stamp: string | null;
  try {
    const info = Deno.statSync(config.path);
    const s = regularFileStamp(info);
    if (!s || !isQuiet(info, runtime.now())) return "the config changed within 2.5 s";
    stamp = s;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    stamp = null;
  }
  if (stamp !== readStamp) return "the config changed since it was read";
  // Taken after everything above has read what it reads.
  const names = [...watch.names].sort();
  return {
    format: RECORD_FORMAT,
    call: callHash(call),
    inputs: await inputsDigest(call, names, runtime),
    env: names,
    config: { path: config.path, stamp },
    vault: { dir, stamp: snapshot.stamp },
    item: use.itemKey,
    minRemainingMs: use.minRemainingMs,
    plan: decision.plan,
    at: runtime.now().getTime(),
  };
}
