/**
 * exec's command in place of this process (execve, as aws-vault's environment mode does) where
 * the C library can be reached, else as a child (run_child.ts, loaded only then: a cache-hit
 * `exec` does not load the code that supervises a child).
 */
import { lookPath } from "../process/path_lookup.ts";
import { libcReplacer, type Replacer } from "./execve.ts";
import type { RunChildOptions } from "./run_child.ts";

// Also from here, for a caller that opens the replacer ahead of execOrRunChild (replay): one
// import instead of two.
export { libcReplacer };

/** Options for execOrRunChild. */
export interface ExecOrRunOptions extends RunChildOptions {
  /**
   * How this process is replaced: the C library's execve when FFI is allowed (the default,
   * {@link libcReplacer}), or `null` for a child (runChild).
   */
  replacer?: Replacer | null;
  /** Where the command is, when the caller looked it up already ({@link commandPath}). */
  commandPath?: string;
}

/**
 * exec's command as execve takes it: a name with a slash as given, others looked up on the
 * child's PATH (as Go's LookPath, absolute hits only); undefined when not found.
 */
export function commandPath(
  command: string,
  path: string | undefined,
  replacer: Replacer | null | undefined,
): string | undefined {
  return command.includes("/")
    ? command
    : lookPath(command, path, { mayExist: replacer?.mayExist });
}

/**
 * Runs exec's command in place of this process where the C library can be reached, so it
 * returns only without FFI, on Windows, or when execve failed; then, and for a command that is
 * not found, the command runs as a child.
 */
export async function execOrRunChild(
  command: string,
  args: string[],
  options: ExecOrRunOptions,
): Promise<number> {
  const replacer = options.replacer === undefined ? libcReplacer() : options.replacer;
  // A miss is left to runChild, which says so.
  const path = options.commandPath ??
    commandPath(command, options.env.PATH ?? Deno.env.get("PATH"), replacer);
  if (replacer && path) {
    try {
      replacer.replace(path, [command, ...args], options.env);
    } catch {
      // a NUL in an argument or variable: runChild refuses it with the reason
    }
  }
  const { runChild } = await import("./run_child.ts");
  return await runChild(command, args, options);
}
