/**
 * exec's command in place of this process (execve, as aws-vault's environment mode does) where
 * the C library can be reached, else as a child (run_child.ts, loaded only then: a cache-hit
 * `exec` does not load the code that supervises a child).
 */
import { lookPath } from "../process/path_lookup.ts";
import { libcReplacer, type Replacer } from "./execve.ts";
import type { RunChildOptions } from "./run_child.ts";

// Also from here, for a caller that opens the replacer ahead of execOrRunChild and makes the
// child's environment (replay): one import instead of three.
export { childEnvironment } from "./child_env.ts";
export { libcReplacer };

/** Options for execOrRunChild. */
export interface ExecOrRunOptions extends RunChildOptions {
  /**
   * How this process is replaced: the C library's execve when FFI is allowed (the default,
   * {@link libcReplacer}), or `null` for a child (runChild).
   */
  replacer?: Replacer | null;
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
  // A name with a slash is run as given; others are looked up on the child's PATH (as Go's
  // LookPath, absolute hits only). A miss is left to runChild, which says so.
  const path = command.includes("/")
    ? command
    : lookPath(command, options.env.PATH ?? Deno.env.get("PATH"), {
      mayExist: replacer?.mayExist,
    });
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
