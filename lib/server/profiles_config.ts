/**
 * The temporary `AWS_CONFIG_FILE` of `exec --ecs-server --all-profiles`: every configured
 * profile gets a `credential_process` that asks the running server (through `aws-vault export`,
 * which sees `AWS_VAULT_SERVER_URL`) for that profile, so multi-profile tools (Terraform with
 * several providers) work unmodified and no key is ever written to disk.
 */

/** One profile of the temporary file. */
export interface ServedProfile {
  name: string;
  region?: string;
}

/**
 * The name a profile has in the file, or undefined for names a config section cannot hold:
 * brackets, control characters, edge spaces, and `#`/`;` after whitespace, which the JS and Go
 * SDKs cut from every line as an inline comment (`[profile a #b]` would become `[profile a`).
 */
function sectionHeader(name: string): string | undefined {
  // deno-lint-ignore no-control-regex
  if (name === "" || /[\[\]\x00-\x1f\x7f]/.test(name) || name.trim() !== name) return undefined;
  const header = name === "default" ? "[default]" : `[profile ${name}]`;
  return /\s[#;]/.test(header) ? undefined : header;
}

/** Quotes a word for a POSIX shell and for Python's shlex (how SDKs split credential_process). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`;
}

/** The file's text; `command` is how to start aws-vault (argv). Unusable names are skipped. */
export function servedConfigText(profiles: ServedProfile[], command: string[]): string {
  const prefix = command.map(shellQuote).join(" ");
  let text = "# Written by aws-vault exec --all-profiles; removed when the command exits.\n";
  for (const p of profiles) {
    const header = sectionHeader(p.name);
    if (!header) continue;
    text += `\n${header}\n`;
    text += `credential_process = ${prefix} export --format=json ${shellQuote(p.name)}\n`;
    // deno-lint-ignore no-control-regex
    if (p.region && !/[\x00-\x1f\x7f]/.test(p.region)) text += `region = ${p.region}\n`;
  }
  return text;
}

/**
 * Writes the file in a fresh private directory (0700; the file 0600) and returns both, with the
 * names of the profiles it had to leave out; the caller removes the directory.
 */
export async function writeServedConfig(
  profiles: ServedProfile[],
  command: string[],
): Promise<{ dir: string; path: string; leftOut: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-config-" });
  await Deno.chmod(dir, 0o700);
  const path = `${dir}/config`;
  await Deno.writeTextFile(path, servedConfigText(profiles, command), { mode: 0o600 });
  const leftOut = profiles.filter((p) => sectionHeader(p.name) === undefined).map((p) => p.name);
  return { dir, path, leftOut };
}

/** How to start this aws-vault again: the compiled binary, or `deno run -A <main module>`. */
export function selfCommand(): string[] {
  const exe = Deno.execPath();
  const main = Deno.mainModule;
  const isDeno = /(^|\/)deno(\.exe)?$/.test(exe);
  if (!isDeno || !main.startsWith("file:")) return [exe];
  return [exe, "run", "-A", "--quiet", decodeURIComponent(new URL(main).pathname)];
}
