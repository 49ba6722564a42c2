/**
 * `aws-vault remove <profile>` (alias `rm`): deletes the profile's stored credentials after a
 * confirmation on the terminal (`-f` skips it), and its cached sessions; `--sessions-only`
 * deletes only the sessions.
 */
import { UserError } from "../errors.ts";
import { CredentialStore, SessionStore } from "../store/mod.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { REMOVE } from "./table.ts";

/** Runs the command; returns the exit code. */
export async function removeCommand(
  ctx: CommandContext,
  { args: { profile }, options }: InputOf<typeof REMOVE>,
): Promise<number> {
  const { runtime } = ctx;
  const keyring = await ctx.keyring();
  const sessions = new SessionStore(keyring, runtime.now);
  if (options.sessionsOnly) {
    const n = await sessions.removeForProfile(profile);
    runtime.stdout(`Deleted ${n} sessions.\n`);
    return 0;
  }

  const credentials = new CredentialStore(keyring);
  if (!(await credentials.has(profile))) {
    throw new UserError(`no credentials exist for profile "${profile}" in the vault`);
  }
  if (!options.force) {
    const answer = await runtime.terminal.readLine(
      `Delete credentials for profile "${profile}"? (y|N) `,
    );
    if (!/^(y|yes)$/i.test(answer.trim())) {
      return 0; // declining is not an error (as in aws-vault)
    }
  }
  await credentials.remove(profile);
  runtime.stdout("Deleted credentials.\n");
  // Sessions minted from the deleted keys go too (the usage guide's behaviour).
  const n = await sessions.removeForProfile(profile);
  if (n > 0) runtime.stdout(`Deleted ${n} sessions.\n`);
  return 0;
}
