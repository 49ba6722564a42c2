/**
 * Recording stand-ins for programs that are not installed here or cannot run headless (zenity,
 * kdialog, osascript, ykman): tiny /bin/sh scripts in a temp dir that tests put first on PATH.
 * Each run records its argv and whether its stdin and stderr were a terminal, then prints a
 * fixed answer or exits non-zero as a Cancel button would. The scripts use shell built-ins
 * only, so they work with PATH set to the stand-in directory alone.
 */

/** What a stand-in does when run. */
export interface StandInBehaviour {
  /** Printed on stdout, verbatim. */
  stdout?: string;
  /** Printed on stderr, verbatim. */
  stderr?: string;
  /** The exit status (0 unless given). */
  exitCode?: number;
}

/** One run of a stand-in. */
export interface StandInCall {
  /** The arguments, without the program name. */
  argv: string[];
  stdinIsTerminal: boolean;
  stderrIsTerminal: boolean;
}

/** A temp directory of stand-ins. */
export interface StandIns {
  /** The directory; put it first on PATH (or make it the whole PATH). */
  dir: string;
  /** Writes (or replaces) the stand-in `name`; returns its absolute path. */
  add(name: string, behaviour?: StandInBehaviour): Promise<string>;
  /** Removes a stand-in, as if the program were not installed. */
  remove(name: string): Promise<void>;
  /** The runs of `name` so far, in order. */
  calls(name: string): Promise<StandInCall[]>;
  /** Removes the directory. */
  cleanup(): Promise<void>;
}

/** Creates an empty stand-in directory. */
export async function standIns(): Promise<StandIns> {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-stand-ins-" });
  await Deno.mkdir(`${dir}/log`);
  const logOf = (name: string) => `${dir}/log/${name}`;
  return {
    dir,
    async add(name, behaviour = {}) {
      const path = `${dir}/${name}`;
      await Deno.writeTextFile(path, script(logOf(name), behaviour), { mode: 0o755 });
      return path;
    },
    remove: (name) => Deno.remove(`${dir}/${name}`),
    async calls(name) {
      let raw: string;
      try {
        raw = await Deno.readTextFile(logOf(name));
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return [];
        throw err;
      }
      // Each run appends: <stdin tty 0|1><stderr tty 0|1> NUL arg NUL arg NUL ... RS
      return raw.split("\x1e").filter((r) => r !== "").map((record) => {
        const [flags, ...argv] = record.split("\0");
        argv.pop(); // the empty field after the last NUL
        return { argv, stdinIsTerminal: flags[0] === "1", stderrIsTerminal: flags[1] === "1" };
      });
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

function script(log: string, b: StandInBehaviour): string {
  const lines = [
    "#!/bin/sh",
    "if [ -t 0 ]; then i=1; else i=0; fi",
    "if [ -t 2 ]; then e=1; else e=0; fi",
    `{ printf '%s%s\\0' "$i" "$e"; for a in "$@"; do printf '%s\\0' "$a"; done; printf '\\036'; } >> ${
      quote(log)
    }`,
  ];
  if (b.stderr !== undefined) lines.push(`printf '%s' ${quote(b.stderr)} >&2`);
  if (b.stdout !== undefined) lines.push(`printf '%s' ${quote(b.stdout)}`);
  lines.push(`exit ${b.exitCode ?? 0}`);
  return lines.join("\n") + "\n";
}

/** A shell single-quoted word. */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
