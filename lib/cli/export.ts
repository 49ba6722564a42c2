/** `aws-vault export`: prints a profile's credentials in a format other tools read. */
import { HANDOUT_MIN_REMAINING_MS, profileArgument, refuseNested } from "../exec/guard.ts";
import { formatExport } from "../exec/credential_env.ts";
import { credentialsFromServer, SERVER_URL_VARIABLE } from "../server/client.ts";
import { recordReplay } from "../replay/recorder.ts";
import { credentialsForProfile } from "../vault/for_profile.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { EXPORT } from "./table.ts";

/** Runs the command; returns the exit code. */
export async function exportCommand(
  ctx: CommandContext,
  { args: { profile: profileArg }, options: opts }: InputOf<typeof EXPORT>,
): Promise<number> {
  const { runtime } = ctx;
  const serverUrl = runtime.env.get(SERVER_URL_VARIABLE);
  const token = runtime.env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (serverUrl && token) {
    // Inside `exec --ecs-server --all-profiles`: the parent's server has every profile.
    // No picker here: the profiles are the parent's.
    const profileName = await profileArgument(profileArg, runtime, () => Promise.resolve([]));
    const credentials = await credentialsFromServer(serverUrl, token, profileName);
    runtime.stdout(formatExport(opts.format, credentials, { profileName }));
    return 0;
  }
  // JSON is for a tool's credential_process, which may well run inside an exec subshell (`aws
  // --profile work` in `aws-vault exec other`): it sets nothing in the shell, so it is not refused.
  if (opts.format !== "json") refuseNested(runtime.env, "export");
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
      flags: opts,
      noSession: opts.noSession,
      signIn: { useDeviceCode: opts.useDeviceCode, printOnly: opts.stdout },
      syncSsoCache: opts.ssoSync ? "asked" : undefined,
      minRemainingMs: HANDOUT_MIN_REMAINING_MS,
    },
  );
  runtime.stdout(formatExport(opts.format, credentials, {
    profileName,
    region: profile.region,
  }));
  await recordReplay(ctx, {
    plan: { kind: "export", format: opts.format, profileName, region: profile.region },
    credentials,
    services,
    flags: opts,
  });
  return 0;
}
