/**
 * `aws-vault exec`: runs a command (or a subshell) with a profile's credentials. The credential
 * servers (--ecs-server, --ec2-server) are marked not built in the table, which refuses them.
 */
import { childEnvironment } from "../exec/child_env.ts";
import { credentialProcessJson } from "../exec/export_format.ts";
import { HANDOUT_MIN_REMAINING_MS, profileArgument, refuseNested } from "../exec/guard.ts";
import { runChild } from "../exec/run_child.ts";
import { credentialsForProfile } from "../vault/for_profile.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { EXEC } from "./table.ts";

/** Runs the command; returns the child's exit code. */
export async function execCommand(
  ctx: CommandContext,
  { args: { profile: profileArg, cmd, args }, options: opts }: InputOf<typeof EXEC>,
): Promise<number> {
  const { runtime } = ctx;
  refuseNested(runtime.env, "exec");
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
      minRemainingMs: opts.json ? HANDOUT_MIN_REMAINING_MS : undefined,
    },
  );
  if (opts.json) {
    runtime.stdout(credentialProcessJson(credentials));
    return 0;
  }
  const env = childEnvironment(runtime.env.toObject(), {
    profileName,
    region: profile.region,
    endpointUrl: profile.endpointUrl,
    credentials,
    profileEnv: opts.profileEnv,
  });
  let command = cmd;
  if (command === undefined) {
    command = runtime.env.get("SHELL") || (runtime.os === "windows" ? "cmd.exe" : "/bin/sh");
    const banner = `Starting subshell ${command}, use \`exit\` to exit the subshell`;
    if (
      runtime.stdoutIsTerminal() && !ctx.options.debug &&
      runtime.env.get("AWS_VAULT_DISABLE_HELP_MESSAGE") !== "1"
    ) {
      runtime.stderr(`${banner}\n`);
    } else {
      ctx.log.debug(banner);
    }
  }
  return await runChild(command, args, {
    env,
    interactive: runtime.stdinIsTerminal(),
    report: (text) => runtime.stderr(`aws-vault: ${text}\n`),
  });
}
