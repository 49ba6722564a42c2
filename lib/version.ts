/**
 * The program's version: the one place is deno.json's "version", imported (not read at run
 * time) so a bundle or a compiled binary carries it.
 */
import project from "../deno.json" with { type: "json" };

/** The version `--version`, `-v` and `version` print. */
export const VERSION: string = project.version;
