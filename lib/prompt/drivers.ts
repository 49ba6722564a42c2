/**
 * The prompt drivers aws-vault knows (`--prompt`): each asks the user for an MFA code in its own
 * way and returns what was entered (program drivers trim their output; callers trim again).
 */
import { NotImplementedError, UserError } from "../errors.ts";
import { lookPath } from "../process/path_lookup.ts";
import type { Env } from "../runtime.ts";
import type { Terminal } from "../terminal.ts";
import { runPromptProcess } from "./prompt_process.ts";

/** Asks for the MFA code of one device. */
export type PromptDriver = (serial: string) => Promise<string>;

/** What the drivers need from the outside. */
export interface DriverDeps {
  terminal: Terminal;
  /** The environment: its PATH finds the driver programs, which run with it. */
  env: Env;
  /** The operating system (the runtime's). */
  os: typeof Deno.build.os;
}

/** The prompt every driver shows. */
export function mfaPromptText(serial: string): string {
  return `Enter MFA code for ${serial}: `;
}

/**
 * The absolute path of a driver's program on `path`, or undefined. A relative hit (an empty
 * PATH entry means the current directory) is ignored, as Go's exec.LookPath does since 1.19:
 * a dialog program is never run from whatever directory the user happens to be in.
 */
export async function findDriverProgram(
  name: string,
  path: string | undefined,
): Promise<string | undefined> {
  const found = await lookPath(name, path);
  return found?.startsWith("/") ? found : undefined;
}

/** The driver with this name. */
export function promptDriver(name: string, deps: DriverDeps): PromptDriver {
  switch (name) {
    case "terminal":
      return (serial) => deps.terminal.readLine(mfaPromptText(serial), { echo: true });
    case "zenity":
      return programDriver(
        "zenity",
        (serial) => ["--entry", "--title", "aws-vault", "--text", mfaPromptText(serial)],
        deps,
      );
    case "kdialog":
      return programDriver(
        "kdialog",
        (serial) => ["--inputbox", mfaPromptText(serial), "--title", "aws-vault"],
        deps,
      );
    case "osascript":
      return programDriver(
        "osascript",
        (serial) => ["-e", appleScript(mfaPromptText(serial))],
        deps,
      );
    case "ykman":
      // ykman prints "Touch your YubiKey..." on stderr: it must reach the user's terminal.
      return programDriver("ykman", (serial) => ykmanArgv(serial, deps.env).slice(1), deps, {
        attachTty: true,
      });
    case "wincredui":
      if (deps.os !== "windows") {
        throw new UserError("the 'wincredui' prompt driver exists only on Windows");
      }
      return () => Promise.reject(new NotImplementedError("the 'wincredui' prompt driver"));
    default:
      throw new UserError(`unknown prompt driver '${name}'`);
  }
}

/** The ykman command line (`YKMAN_OATH_*` and `AWS_VAULT_YKMAN_VERSION` as aws-vault reads them). */
export function ykmanArgv(serial: string, env: Env): string[] {
  const argv = ["ykman"];
  const device = env.get("YKMAN_OATH_DEVICE_SERIAL");
  if (device) argv.push("--device", device);
  const account = env.get("YKMAN_OATH_CREDENTIAL_NAME") || serial;
  const oldCli = ["1", "2", "3"].includes(env.get("AWS_VAULT_YKMAN_VERSION") ?? "");
  argv.push(...(oldCli ? ["oath", "code"] : ["oath", "accounts", "code"]), "--single", account);
  return argv;
}

/**
 * A driver that runs `program` found on the PATH of `deps.env` (the same PATH auto-selection
 * looked at), so a missing program is one clear error rather than a spawn failure.
 */
function programDriver(
  program: string,
  args: (serial: string) => string[],
  deps: DriverDeps,
  options: { attachTty?: boolean } = {},
): PromptDriver {
  return async (serial) => {
    const path = await findDriverProgram(program, deps.env.get("PATH"));
    if (path === undefined) {
      throw new UserError(
        `the '${program}' prompt driver needs the ${program} program, which is not on PATH`,
      );
    }
    return await runPromptProcess([path, ...args(serial)], {
      label: program,
      env: deps.env.toObject(),
      attachTty: options.attachTty,
      os: deps.os,
    });
  };
}

function appleScript(message: string): string {
  const quoted = message.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return `display dialog "${quoted}" default answer "" buttons {"Cancel", "OK"} default button "OK" with title "aws-vault"\ntext returned of result`;
}
