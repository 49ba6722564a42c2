/** Puts the stand-in browser on a PATH directory as `xdg-open` (and `open`). */
const PROGRAM = new URL("./stand_in_browser.ts", import.meta.url).pathname;

/** Writes `xdg-open` and `open` into `dir`; returns the log file the browser appends URLs to. */
export async function installStandInBrowser(dir: string): Promise<string> {
  const script = `#!/bin/sh\nexec '${Deno.execPath()}' run -A --quiet '${PROGRAM}' "$@"\n`;
  for (const name of ["xdg-open", "open"]) {
    await Deno.writeTextFile(`${dir}/${name}`, script, { mode: 0o755 });
  }
  return `${dir}/browser.log`;
}

/** The URLs the stand-in browser was asked to open. */
export async function browserVisits(log: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(log)).split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}
