/** The program's version: the one place it is written; bundles and compiled binaries carry it. */

/** The version `--version`, `-v` and `version` print. */
export const VERSION = "0.2.0";
