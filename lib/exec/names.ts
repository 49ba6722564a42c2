/**
 * The names of `export`'s formats, apart from the formatter (lib/exec/credential_env.ts): the
 * command table lists them on every start, the formatter loads only when credentials are
 * printed.
 */

/** Every `--format`. */
export const EXPORT_FORMATS = ["env", "export-env", "json", "ini", "fish", "powershell"] as const;

/** One `--format` value. */
export type ExportFormat = typeof EXPORT_FORMATS[number];
