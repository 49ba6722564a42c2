/**
 * Opening a link in the user's browser: `open` on macOS, `xdg-open` elsewhere (found on PATH,
 * run by absolute path), only when a graphical session is there (`DISPLAY` or
 * `WAYLAND_DISPLAY` on Linux and the BSDs). The link goes in argv: it names a sign-in page, no
 * credential.
 */
import { lookPath } from "../process/path_lookup.ts";
import { runProgram } from "../process/spawn.ts";
import type { Env } from "../runtime.ts";

/** Opens a URL; resolves whether the opener ran successfully. */
export type BrowserOpener = (url: string) => Promise<boolean>;

/** What finding an opener depends on. */
export interface BrowserOptions {
  env: Env;
  os: typeof Deno.build.os;
  /** The environment of the opener (ours minus private variables). */
  processEnv: Record<string, string>;
}

/** The opener for this machine, or undefined when no browser can be opened. */
export async function findBrowserOpener(o: BrowserOptions): Promise<BrowserOpener | undefined> {
  if (o.os === "windows") {
    return (url) => run("rundll32", ["url.dll,FileProtocolHandler", url], o.processEnv);
  }
  const name = o.os === "darwin" ? "open" : "xdg-open";
  if (o.os !== "darwin" && !o.env.get("DISPLAY") && !o.env.get("WAYLAND_DISPLAY")) {
    return undefined;
  }
  const path = await lookPath(name, o.env.get("PATH"));
  if (!path) return undefined;
  return (url) => run(path, [url], o.processEnv);
}

async function run(cmd: string, args: string[], env: Record<string, string>): Promise<boolean> {
  try {
    return (await runProgram(cmd, args, { env })).code === 0;
  } catch {
    return false; // could not be started: the link is printed anyway
  }
}
