/** `aws-vault export`: prints a profile's credentials in a format other tools read. */
import {
  configFlags,
  type CredentialFlags,
  HANDOUT_MIN_REMAINING_MS,
  profileArgument,
  refuseNested,
  signInChoice,
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
  const profileName = profileArgument(profileArg, runtime.env);
  const { profile, credentials } = await credentialsForProfile(
    await ctx.services(),
    {
      profileName,
      flags: configFlags(opts),
      noSession: opts.session === false,
      signIn: signInChoice(opts),
      syncSsoCache: opts.ssoSync ? "asked" : undefined,
      minRemainingMs: HANDOUT_MIN_REMAINING_MS,
    },
  );
  runtime.stdout(formatExport(opts.format ?? "env", credentials, {
    profileName,
    region: profile.region,
  }));
  return 0;
}
