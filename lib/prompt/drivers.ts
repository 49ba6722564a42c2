/**
 * The prompt drivers aws-vault knows (`--prompt`): each asks the user for an MFA code in its own
 * way and returns what was entered, untrimmed of nothing but whitespace.
 */
import { NotImplementedError, UserError } from "../errors.ts";
import type { Env } from "../runtime.ts";
import type { Terminal } from "./tty.ts";
import { runPromptProcess } from "./prompt_process.ts";

/** Asks for the MFA code of one device. */
export type PromptDriver = (serial: string) => Promise<string>;

/** What the drivers need from the outside. */
export interface DriverDeps {
  terminal: Terminal;
  env: Env;
}

/** The prompt every driver shows. */
export function mfaPromptText(serial: string): string {
  return `Enter MFA code for ${serial}: `;
}

/** The driver with this name. */
export function promptDriver(name: string, deps: DriverDeps): PromptDriver {
  switch (name) {
    case "terminal":
      return (serial) => deps.terminal.readLine(mfaPromptText(serial), { echo: true });
    case "zenity":
      return (serial) =>
        runPromptProcess([
          "zenity",
          "--entry",
          "--title",
          "aws-vault",
          "--text",
          mfaPromptText(serial),
        ], {
          label: "zenity",
        });
    case "kdialog":
      return (serial) =>
        runPromptProcess(["kdialog", "--inputbox", mfaPromptText(serial), "--title", "aws-vault"], {
          label: "kdialog",
        });
    case "osascript":
      return (serial) =>
        runPromptProcess(["osascript", "-e", appleScript(mfaPromptText(serial))], {
          label: "osascript",
        });
    case "ykman":
      return (serial) =>
        runPromptProcess(ykmanArgv(serial, deps.env), { label: "ykman", stderrToTty: true });
    case "wincredui":
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

function appleScript(message: string): string {
  const quoted = message.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return `display dialog "${quoted}" default answer "" buttons {"Cancel", "OK"} default button "OK" with title "aws-vault"\ntext returned of result`;
}
