/** `aws-vault export`: prints a profile's credentials in a format other tools read. */
import {
  configFlags,
  type CredentialFlags,
  HANDOUT_MIN_REMAINING_MS,
  profileArgument,
  refuseNested,
} from "../exec/guard.ts";
import { type ExportFormat, formatExport } from "../exec/export_format.ts";
import { credentialsForProfile } from "../vault/for_profile.ts";
import type { CommandContext } from "./global.ts";

/** export's options. */
export interface ExportOptions extends CredentialFlags {
  format: ExportFormat;
}

/** Runs the command; returns the exit code. */
export async function exportCommand(
  ctx: CommandContext,
  profileArg: string | undefined,
  opts: ExportOptions,
): Promise<number> {
  const { runtime } = ctx;
  refuseNested(runtime.env, "export");
  const services = await ctx.services();
  const profileName = await profileArgument(
    profileArg,
    runtime,
    async () => (await services.config()).profileNames(),
  );
  const { profile, credentials } = await credentialsForProfile(
    services,
    {
      profileName,
      flags: configFlags(opts),
      noSession: opts.session === false,
      minRemainingMs: HANDOUT_MIN_REMAINING_MS,
    },
  );
  runtime.stdout(formatExport(opts.format ?? "env", credentials, {
    profileName,
    region: profile.region,
  }));
  return 0;
}
