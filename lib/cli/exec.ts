/**
 * `aws-vault exec`: runs a command (or a subshell) with a profile's credentials, in its
 * environment or, with --ecs-server / --ec2-server, from a local credential server
 * (exec_server.ts).
 */
import { childEnvironment, credentialProcessJson } from "../exec/credential_env.ts";
import { HANDOUT_MIN_REMAINING_MS, profileArgument, refuseNested } from "../exec/guard.ts";
import { execOrRunChild } from "../exec/exec_or_run.ts";
import { recordReplay } from "../replay/recorder.ts";
import { credentialsForProfile } from "../vault/for_profile.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { EXEC } from "./table.ts";

/** exec's options, as the command table parses them. */
export type ExecOptions = InputOf<typeof EXEC>["options"];

/** Runs the command; returns the child's exit code. */
export async function execCommand(
  ctx: CommandContext,
  { args: { profile: profileArg, cmd, args }, options: opts }: InputOf<typeof EXEC>,
): Promise<number> {
  const { runtime } = ctx;
  const serverMode = Boolean(opts.server || opts.ecsServer || opts.ec2Server);
  if (serverMode || opts.lazy || opts.allProfiles) {
    (await import("./exec_server.ts")).checkServerFlags(opts);
  }
  // `--json` is `export --format=json` (a credential_process), served inside a subshell too.
  if (!opts.json) refuseNested(runtime.env, "exec");
  const services = await ctx.services();
  const profileName = await profileArgument(
    profileArg,
    runtime,
    async () => (await services.config()).profileNames(),
  );
  if (serverMode) {
    return await (await import("./exec_server.ts")).execWithServer(
      ctx,
      profileName,
      defaultCommand(ctx, cmd),
      args,
      opts,
      cmd === undefined,
    );
  }
  const { profile, credentials } = await credentialsForProfile(
    services,
    {
      profileName,
      flags: opts,
      noSession: opts.noSession,
      signIn: { useDeviceCode: opts.useDeviceCode, printOnly: opts.stdout },
      syncSsoCache: opts.ssoSync ? "asked" : opts.profileEnv ? "quiet" : undefined,
      minRemainingMs: opts.json ? HANDOUT_MIN_REMAINING_MS : undefined,
    },
  );
  if (opts.json) {
    runtime.stdout(credentialProcessJson(credentials));
    await recordReplay(ctx, {
      plan: { kind: "credential_process" },
      credentials,
      services,
      flags: opts,
    });
    return 0;
  }
  const env = childEnvironment(runtime.env.toObject(), {
    profileName,
    region: profile.region,
    endpointUrl: profile.endpointUrl,
    credentials,
    profileEnv: opts.profileEnv,
  });
  // Recorded before the child runs: the decision is made, and the child may run for hours.
  await recordReplay(ctx, {
    plan: { kind: "exec", profileName, region: profile.region, endpointUrl: profile.endpointUrl },
    credentials,
    child: cmd === undefined ? [] : [cmd, ...args],
    services,
    flags: opts,
  });
  return await execOrRunChild(defaultCommand(ctx, cmd), args, {
    env,
    interactive: runtime.stdinIsTerminal(),
    report: (text) => runtime.stderr(`aws-vault: ${text}\n`),
  });
}

/** The command to run: the given one, else the user's shell (with the subshell banner). */
function defaultCommand(ctx: CommandContext, cmd: string | undefined): string {
  if (cmd !== undefined) return cmd;
  const { runtime } = ctx;
  const command = runtime.env.get("SHELL") || (runtime.os === "windows" ? "cmd.exe" : "/bin/sh");
  helpMessage(ctx, `Starting subshell ${command}, use \`exit\` to exit the subshell`, true);
  return command;
}

/**
 * aws-vault's help messages (the subshell banner, the EC2 server warning): on stderr when a
 * person is watching (`interactive`: no command given, stdout a terminal, no --debug, and
 * AWS_VAULT_DISABLE_HELP_MESSAGE is not 1), else in the debug log.
 */
export function helpMessage(ctx: CommandContext, text: string, interactive: boolean): void {
  const { runtime } = ctx;
  if (
    interactive && runtime.stdoutIsTerminal() && !ctx.options.debug &&
    runtime.env.get("AWS_VAULT_DISABLE_HELP_MESSAGE") !== "1"
  ) {
    runtime.stderr(`${text}\n`);
  } else {
    ctx.log.debug(text);
  }
}
