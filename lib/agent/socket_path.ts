/**
 * Where the credential agent listens, and the custody rules of that place: the socket is 0600 in
 * a 0700 directory, both owned by the user. Deno does not expose a Unix socket's peer
 * credentials (SO_PEERCRED), so these permissions are what keeps other users out: the kernel
 * refuses them the directory, and anything looser is refused by us.
 */
import { UserError } from "../errors.ts";
import type { Env } from "../runtime.ts";
import { dirname } from "../fs/atomic.ts";

/** Our uid where sockets have owners (not on Windows). */
export function currentUid(): number | undefined {
  return Deno.build.os === "windows" ? undefined : Deno.uid() ?? undefined;
}

/**
 * Whether something is at the agent's socket path: false only when nothing is (so no agent
 * runs); a bad variable or any other answer is true, for the client's checks to tell.
 */
export function mayHaveAgent(env: Env): boolean {
  const uid = currentUid();
  if (uid === undefined) return false;
  try {
    Deno.lstatSync(agentSocketPlace(env, uid).path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
  }
  return true;
}

/** Environment variable naming the socket path. */
export const AGENT_SOCK_ENV = "AWS_VAULT_AGENT_SOCK";

/** The agent's socket file and its directory. */
export interface AgentSocketPlace {
  path: string;
  dir: string;
}

/**
 * `$AWS_VAULT_AGENT_SOCK`, else `$XDG_RUNTIME_DIR/aws-vault/agent.sock`, else
 * `$TMPDIR/aws-vault-<uid>/agent.sock` (TMPDIR defaulting to /tmp).
 */
export function agentSocketPlace(env: Env, uid: number): AgentSocketPlace {
  const given = env.get(AGENT_SOCK_ENV);
  if (given) {
    if (!given.startsWith("/")) {
      throw new UserError(`${AGENT_SOCK_ENV} must be an absolute path (it is '${given}')`);
    }
    return checkedLength({ path: given, dir: dirname(given) });
  }
  const runtimeDir = env.get("XDG_RUNTIME_DIR");
  const base = runtimeDir?.startsWith("/")
    ? `${trimSlash(runtimeDir)}/aws-vault`
    : `${trimSlash(env.get("TMPDIR") || "/tmp")}/aws-vault-${uid}`;
  return checkedLength({ path: `${base}/agent.sock`, dir: base });
}

/** The longest socket path the kernel takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH_BYTES = 107;

function checkedLength(place: AgentSocketPlace): AgentSocketPlace {
  if (new TextEncoder().encode(place.path).length > MAX_SOCKET_PATH_BYTES) {
    throw new UserError(
      `the agent socket path ${place.path} is longer than a Unix socket allows ` +
        `(${MAX_SOCKET_PATH_BYTES} bytes); set ${AGENT_SOCK_ENV} to a shorter path`,
    );
  }
  return place;
}

/**
 * Checks the socket directory: a real directory (not a link), owned by `uid`, mode 0700.
 * With `create`, a missing directory is made (0700). Returns false when it is missing.
 */
export async function checkSocketDir(
  dir: string,
  uid: number,
  options: { create?: boolean } = {},
): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    // Synchronous: every file-backend command asks, and most find no agent.
    info = Deno.lstatSync(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      throw refusal(dir, `cannot be checked (${errorText(err)})`);
    }
    if (!options.create) return false;
    try {
      await Deno.mkdir(dir, { mode: 0o700 });
      await Deno.chmod(dir, 0o700);
    } catch (mkErr) {
      if (!(mkErr instanceof Deno.errors.AlreadyExists)) {
        throw new UserError(`cannot create agent socket directory ${dir}: ${errorText(mkErr)}`);
      }
    }
    info = await Deno.lstat(dir);
  }
  if (info.isSymlink) throw refusal(dir, "is a symbolic link");
  if (!info.isDirectory) throw refusal(dir, "is not a directory");
  if (info.uid !== uid) throw refusal(dir, `is owned by uid ${info.uid}, not by you (uid ${uid})`);
  const mode = (info.mode ?? 0) & 0o7777;
  if (mode !== 0o700) {
    throw refusal(dir, `has mode ${octal(mode)}; it must be 0700 (chmod 700 ${dir})`);
  }
  return true;
}

/**
 * Checks the socket file: a socket owned by `uid` that no one else may use (mode 0600).
 * Returns false when there is none.
 */
export function checkSocketFile(path: string, uid: number): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw refusal(path, `cannot be checked (${errorText(err)})`);
  }
  if (!info.isSocket) throw refusal(path, "is not a socket");
  if (info.uid !== uid) throw refusal(path, `is owned by uid ${info.uid}, not by you (uid ${uid})`);
  const mode = (info.mode ?? 0) & 0o7777;
  if ((mode & 0o177) !== 0) throw refusal(path, `has mode ${octal(mode)}; it must be 0600`);
  return true;
}

/** The error for a socket place that breaks the custody rules. */
export class AgentSocketRefused extends UserError {
  constructor(message: string) {
    super(message);
    this.name = "AgentSocketRefused";
  }
}

function refusal(path: string, why: string): AgentSocketRefused {
  return new AgentSocketRefused(`refusing the agent socket place ${path}: it ${why}`);
}

function octal(mode: number): string {
  return "0" + mode.toString(8).padStart(3, "0");
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
