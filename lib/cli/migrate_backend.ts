/**
 * `aws-vault migrate-backend --from X --to Y`: copies long-term credentials (never sessions or
 * OIDC tokens) between backends. Each credential is written, read back and compared before the
 * source copy is deleted (`--delete-source`), so a run killed at any point leaves every
 * credential in at least one backend.
 */
import { isCredentialKey } from "../store/key_kinds.ts";
import { type Item, KeyringError } from "../../backends/keyring.ts";
import { escapeControl } from "../encoding.ts";
import { errorLine, UsageError, UserError } from "../errors.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { MIGRATE_BACKEND } from "./table.ts";

/** Runs the command; returns the exit code. */
export async function migrateBackendCommand(
  ctx: CommandContext,
  { options: opts }: InputOf<typeof MIGRATE_BACKEND>,
): Promise<number> {
  if (opts.from === opts.to) throw new UsageError("--from and --to must name different backends");
  // A key is a file name in the vault or an entry of a pass store, which others may have made.
  const out = (line: string) => ctx.runtime.stdout(`${escapeControl(line)}\n`);
  const services = await ctx.services();
  const source = await services.backend(opts.from);
  const destination = await services.backend(opts.to);

  let keys = (await source.keys()).filter(isCredentialKey).sort();
  if (opts.profile !== undefined) {
    if (!keys.includes(opts.profile)) {
      throw new UserError(
        `no credentials for profile '${opts.profile}' in the ${opts.from} backend`,
      );
    }
    keys = [opts.profile];
  }

  const count = { copied: 0, overwritten: 0, skipped: 0, deleted: 0, unreadable: 0 };
  for (const key of keys) {
    let item: Item | undefined;
    try {
      item = await source.get(key);
    } catch (err) {
      // A file that is no item (a stray `.DS_Store` in the file vault), or one that does not
      // decrypt: said, kept where it is, and the others still migrate. A wrong passphrase is a
      // UserError and stops the run.
      if (!(err instanceof KeyringError)) throw err;
      ctx.runtime.stderr(
        `aws-vault: ${escapeControl(key)}: not migrated, cannot be read: ${errorLine(err)}\n`,
      );
      count.unreadable++;
      continue;
    }
    if (!item) continue; // removed by someone else meanwhile
    const exists = await destination.get(key) !== undefined;
    if (exists && !opts.overwrite) {
      out(`${key}: skipped, already exists in destination`);
      count.skipped++;
      continue;
    }
    if (opts.dryRun) {
      out(`${key}: would be ${exists ? "overwritten" : "copied"}`);
      continue;
    }
    await destination.set(item);
    const back = await destination.get(key);
    if (!back || !sameBytes(back.data, item.data)) {
      throw new UserError(
        `copy of '${key}' to the ${opts.to} backend did not read back the same; the source is kept`,
      );
    }
    out(`${key}: ${exists ? "overwritten" : "copied"}, verified`);
    if (exists) count.overwritten++;
    else count.copied++;
    if (opts.deleteSource) {
      await source.remove(key);
      out(`${key}: deleted from ${opts.from}`);
      count.deleted++;
    }
  }
  const what = opts.dryRun
    ? "Dry run, nothing written"
    : `Migrated from ${opts.from} to ${opts.to}`;
  out(
    `${what}: ${count.copied} copied, ${count.overwritten} overwritten, ` +
      `${count.skipped} skipped, ${count.deleted} deleted from source.`,
  );
  if (count.unreadable > 0) {
    throw new UserError(
      `${count.unreadable} item(s) of the ${opts.from} backend could not be read and were not migrated (kept there; see above)`,
    );
  }
  return 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
