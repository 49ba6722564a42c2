/**
 * Replay records: what a full run of `export` or `exec` served from a cached session, with every
 * input that decision was made from, so that the same call with the same inputs is served again
 * without resolving the profile and its chain (lib/replay/replay.ts). A record holds no secret:
 * names of environment variables and a SHA-256 over the program's version and build, the call
 * and those variables' values (of our private variables only whether they are set), the config
 * file's and the vault directory's stamps (lib/fs/stamp.ts), the session item's name, and how the
 * output was made (format, profile name, region). Never the child command line of `exec`: the
 * call is the part of argv up to `--`.
 *
 * Format: one JSON file per call in ~/.awsvault/locks/replay (0700), named by a hash of the call,
 * 0600, written atomically: an array of up to RECORDS_PER_CALL records, newest first; at most
 * MAX_CALLS files, the oldest removed first. A plain small file: it is read on every call of
 * `export` and `exec`, where each cold line of code costs.
 */
import { bytesToHex, fnv1a64Hex } from "../encoding.ts";
import { isTempFileName, removeStaleTempFiles, writeFileAtomic } from "../fs/atomic.ts";
import { fileStamp } from "../fs/stamp.ts";
import { PRIVATE_VARIABLES } from "../process/env.ts";
import type { Runtime } from "../runtime.ts";
import { EXPORT_FORMATS, type ExportFormat } from "../exec/names.ts";
import { VERSION } from "../version.ts";

/** Pseudo-variables for what the runtime says of the terminal, recorded like variables. */
export const STDIN_TTY = "#stdin-is-terminal";
export const STDOUT_TTY = "#stdout-is-terminal";
/** The home directory the runtime reports (HOME, or USERPROFILE on Windows). */
export const HOME_DIR = "#home-directory";

/** The `format` field of every record (its version is in it). */
export const RECORD_FORMAT = "aws-vault replay record 1";
/** Calls with records; a user with more calls than this in turn only loses speed. */
export const MAX_CALLS = 256;
/** Records of one call with different inputs (the newest kept). */
export const RECORDS_PER_CALL = 4;
/** A larger file is not one of ours. */
const MAX_FILE_BYTES = 64 * 1024;
/** Temp files of a write killed midway are removed after this long. */
const STALE_TEMP_MS = 10 * 60_000;

/** How a replayed call makes its output from the credentials. */
export type ReplayPlan =
  | { kind: "export"; format: ExportFormat; profileName: string; region?: string }
  | { kind: "exec"; profileName: string; region?: string; endpointUrl?: string }
  | { kind: "credential_process" };

/** One recorded decision. */
export interface ReplayRecord {
  format: typeof RECORD_FORMAT;
  /** The bucket: a hash of the call (argv up to and with the first `--`). */
  call: string;
  /** SHA-256 (hex) of the call and the values of `env` (see inputsDigest). */
  inputs: string;
  /** The variables (and terminal pseudo-variables) the decision read, sorted. */
  env: string[];
  /** The config file and its stamp; null: there was none. */
  config: { path: string; stamp: string | null };
  /** The file backend's directory and its stamp. */
  vault: { dir: string; stamp: string };
  /** The session item served. */
  item: string;
  /** The least life the session had to have left. */
  minRemainingMs: number;
  plan: ReplayPlan;
  /** When it was recorded (epoch ms): the oldest records go first. */
  at: number;
}

/** The directory of replay records in the lock directory. */
export function replayDir(lockDir: string): string {
  return `${lockDir}/replay`;
}

/**
 * A call split at its first `--`: `call` is argv up to and with it (the part a decision is made
 * from), `child` the rest (exec's command line, never recorded).
 */
export function splitCall(argv: string[]): { call: string[]; child: string[] } {
  const end = argv.indexOf("--");
  return end < 0
    ? { call: argv, child: [] }
    : { call: argv.slice(0, end + 1), child: argv.slice(end + 1) };
}

/** The bucket name of a call. */
export function callHash(call: string[]): string {
  return fnv1a64Hex(JSON.stringify(call));
}

/** The value a name of a record's `env` stands for now. */
function inputValue(name: string, runtime: Runtime): string | null {
  if (name === STDIN_TTY) return String(runtime.stdinIsTerminal());
  if (name === STDOUT_TTY) return String(runtime.stdoutIsTerminal());
  if (name === HOME_DIR) return runtime.homeDir();
  const value = runtime.env.get(name);
  if (value === undefined) return null;
  // A passphrase or token only decrypts or authenticates; a wrong one fails there.
  return (PRIVATE_VARIABLES as readonly string[]).includes(name) ? "(set)" : value;
}

let programBuild: string | undefined;

/**
 * Which build of the program this is. Another build may decide otherwise (a fix in the chain),
 * and VERSION changes only with releases: the bundle unpacks each build into a directory named by
 * its content, so this module's directory says which bundle (or which checkout) runs; a compiled
 * binary is told by its file's stamp (an upgrade writes a new file).
 */
function buildOfProgram(): string {
  if (programBuild !== undefined) return programBuild;
  let build = new URL(".", import.meta.url).href;
  if (Deno.build.standalone) {
    try {
      build = fileStamp(Deno.statSync(Deno.execPath())) ?? build;
    } catch {
      // the directory, then
    }
  }
  return programBuild = build;
}

/** SHA-256 (hex) of the call and the current values of `names`. */
export async function inputsDigest(
  call: string[],
  names: readonly string[],
  runtime: Runtime,
): Promise<string> {
  // The version and the build too: another version or build of the program may decide otherwise.
  const values = names.map((n) => [n, inputValue(n, runtime)]);
  const text = JSON.stringify([RECORD_FORMAT, VERSION, buildOfProgram(), call, values]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return bytesToHex(new Uint8Array(digest));
}

/**
 * The records of this call, newest first; none for anything else: no file, not a regular file
 * of ours (owner, not group- or world-writable), too large, malformed, another call. Whether
 * their inputs hold is {@link matchingRecord}'s question.
 */
export function callRecords(dir: string, call: string[]): ReplayRecord[] {
  const hash = callHash(call);
  return readRecords(`${dir}/${hash}.json`).filter((record) => record.call === hash);
}

/**
 * The first of these records (of this call) whose inputs have their current values; undefined
 * when none has. Throws only what the digest may throw.
 */
export async function matchingRecord(
  records: readonly ReplayRecord[],
  call: string[],
  runtime: Runtime,
): Promise<ReplayRecord | undefined> {
  for (const record of records) {
    if ((await inputsDigest(call, record.env, runtime)) === record.inputs) return record;
  }
  return undefined;
}

/** The records in a call's file, newest first; none for anything but a good file of ours. */
function readRecords(path: string): ReplayRecord[] {
  try {
    // Only in a directory of ours that nobody else can write to: nobody can swap a file in.
    const uid = Deno.uid();
    const dir = Deno.lstatSync(path.slice(0, path.lastIndexOf("/")));
    if (!dir.isDirectory || ((dir.mode ?? 0) & 0o022) !== 0) return [];
    if (uid !== null && dir.uid !== null && dir.uid !== uid) return [];
    const info = Deno.lstatSync(path);
    if (!info.isFile || info.size > MAX_FILE_BYTES || ((info.mode ?? 0) & 0o022) !== 0) return [];
    if (uid !== null && info.uid !== null && info.uid !== uid) return [];
    const text = Deno.readTextFileSync(path);
    const list: unknown = text.length <= MAX_FILE_BYTES ? JSON.parse(text) : undefined;
    if (!Array.isArray(list) || list.length > RECORDS_PER_CALL) return [];
    const records = list.map((r) => parseRecord(r));
    return records.every((r) => r !== undefined) ? records as ReplayRecord[] : [];
  } catch {
    return [];
  }
}

/**
 * Adds the record to its call's file (atomically), in front of the others of the call with other
 * inputs (RECORDS_PER_CALL at most: e.g. a terminal with the agent, a tool with the passphrase);
 * nothing is written when an equal record is there (a call that is never replayed must not
 * rewrite its file each time). Then, past MAX_CALLS, the files used longest ago go. Throws on
 * I/O errors.
 */
export async function saveRecord(dir: string, record: ReplayRecord, now: Date): Promise<void> {
  const path = `${dir}/${record.call}.json`;
  const old = readRecords(path);
  if (old.some((r) => sameDecision(r, record))) return;
  const records = [record, ...old.filter((r) => r.inputs !== record.inputs)]
    .slice(0, RECORDS_PER_CALL);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(records)}\n`, { mode: 0o600 });
  const files: { name: string; at: number }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || isTempFileName(entry.name) || !entry.name.endsWith(".json")) continue;
    const info = await Deno.lstat(`${dir}/${entry.name}`).catch(() => undefined);
    files.push({ name: entry.name, at: info?.mtime?.getTime() ?? 0 });
  }
  files.sort((a, b) => b.at - a.at);
  for (const { name } of files.slice(MAX_CALLS)) {
    await Deno.remove(`${dir}/${name}`).catch(() => {});
  }
  await removeStaleTempFiles(dir, { olderThanMs: STALE_TEMP_MS, now });
}

function sameDecision(a: ReplayRecord, b: ReplayRecord): boolean {
  return JSON.stringify({ ...a, at: 0 }) === JSON.stringify({ ...b, at: 0 });
}

/** A record (parsed JSON), checked field by field; undefined for anything else. */
export function parseRecord(r: unknown): ReplayRecord | undefined {
  if (!isObject(r) || r.format !== RECORD_FORMAT) return undefined;
  const { call, inputs, env, config, vault, item, minRemainingMs, plan, at } = r;
  if (!isString(call) || !/^[0-9a-f]{16}$/.test(call)) return undefined;
  if (!isString(inputs) || !/^[0-9a-f]{64}$/.test(inputs)) return undefined;
  if (!Array.isArray(env) || !env.every(isString)) return undefined;
  if (!isObject(config) || !isAbsolute(config.path)) return undefined;
  if (config.stamp !== null && !isString(config.stamp)) return undefined;
  if (!isObject(vault) || !isAbsolute(vault.dir) || !isString(vault.stamp)) return undefined;
  if (!isString(item) || item === "") return undefined;
  if (!Number.isSafeInteger(minRemainingMs) || (minRemainingMs as number) < 0) return undefined;
  if (!Number.isSafeInteger(at)) return undefined;
  const parsedPlan = parsePlan(plan);
  if (!parsedPlan) return undefined;
  return {
    format: RECORD_FORMAT,
    call,
    inputs,
    env,
    config: { path: config.path as string, stamp: config.stamp as string | null },
    vault: { dir: vault.dir as string, stamp: vault.stamp },
    item,
    minRemainingMs: minRemainingMs as number,
    plan: parsedPlan,
    at: at as number,
  };
}

function parsePlan(p: unknown): ReplayPlan | undefined {
  if (!isObject(p)) return undefined;
  const region = optionalString(p.region);
  if (region === null) return undefined;
  if (p.kind === "credential_process") return { kind: "credential_process" };
  if (!isString(p.profileName) || p.profileName === "") return undefined;
  const base = { profileName: p.profileName, ...(region !== undefined ? { region } : {}) };
  if (p.kind === "export") {
    const format = EXPORT_FORMATS.find((f) => f === p.format);
    return format ? { kind: "export", format, ...base } : undefined;
  }
  if (p.kind === "exec") {
    const endpointUrl = optionalString(p.endpointUrl);
    if (endpointUrl === null) return undefined;
    return { kind: "exec", ...base, ...(endpointUrl !== undefined ? { endpointUrl } : {}) };
  }
  return undefined;
}

/** A string, undefined when absent, null when something else. */
function optionalString(v: unknown): string | undefined | null {
  return v === undefined ? undefined : isString(v) ? v : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}

function isAbsolute(v: unknown): v is string {
  return isString(v) && v.startsWith("/") && !v.includes("\0");
}
