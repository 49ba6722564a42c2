/** Checks shared by `exec` and `export`: the nested-subshell guard and the profile argument. */
import { UsageError, UserError } from "../errors.ts";
import type { Env, Runtime } from "../runtime.ts";

/** Botocore refreshes credentials 15 minutes before expiry: hand out more life than that. */
export const HANDOUT_MIN_REMAINING_MS = 15 * 60_000;

/** Refuses to run inside an `aws-vault exec` subshell, saying how to get out. */
export function refuseNested(env: Env, command: string): void {
  const current = env.get("AWS_VAULT");
  if (current) {
    throw new UserError(
      `${command}: running in an existing aws-vault subshell for profile '${current}'; 'exit' from the subshell or unset AWS_VAULT to force`,
    );
  }
}

/**
 * The profile argument, else `$AWS_PROFILE`, else (ByteNess) the profile the user picks from
 * the config's profiles when stdin is a terminal; otherwise a usage error.
 */
export async function profileArgument(
  given: unknown,
  runtime: Runtime,
  profileNames: () => Promise<string[]>,
): Promise<string> {
  const name = typeof given === "string" && given !== "" ? given : runtime.env.get("AWS_PROFILE");
  if (name) return name;
  if (runtime.stdinIsTerminal() && runtime.terminal.choose) {
    const names = await profileNames();
    if (names.length > 0) return await runtime.terminal.choose("Choose AWS profile: ", names);
  }
  throw new UsageError("no profile given: name a profile or set AWS_PROFILE");
}
