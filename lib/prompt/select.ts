/** Picks the prompt driver: `--prompt`/`AWS_VAULT_PROMPT`, else aws-vault's automatic rules. */
import { findDriverProgram } from "./drivers.ts";

/** Drivers that run a program, in the order automatic selection prefers them. */
const GUI_DRIVERS = ["kdialog", "osascript", "wincredui", "ykman", "zenity"] as const;

/** What the selection depends on. */
export interface DriverSelection {
  /** `--prompt` or `AWS_VAULT_PROMPT`, if given. */
  name?: string;
  stdoutIsTerminal: boolean;
  /** A credential server mode, where nobody watches the terminal. */
  serverMode?: boolean;
  os: typeof Deno.build.os;
  /** PATH, to find the GUI drivers' programs. */
  path?: string;
}

/**
 * The driver name. With no choice made: `terminal` when stdout is a terminal (and no server
 * runs), else the first installed non-terminal driver alphabetically, else `terminal` (which
 * reads the controlling terminal, so it still works when stdout is piped).
 */
export async function selectPromptDriver(sel: DriverSelection): Promise<string> {
  if (sel.name) return sel.name;
  if (sel.stdoutIsTerminal && !sel.serverMode) return "terminal";
  for (const name of GUI_DRIVERS) {
    if (name === "wincredui") {
      if (sel.os === "windows") return name;
      continue;
    }
    if (await findDriverProgram(name, sel.path)) return name;
  }
  return "terminal";
}
