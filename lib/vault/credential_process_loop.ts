/**
 * The loop guard of credential_process sources, apart from the provider so that every
 * credential command can run it without loading the process runner.
 */
import { UserError } from "../errors.ts";

/** The variable that names the profiles whose credential_process is running (loop guard). */
export const CREDENTIAL_PROCESS_CHAIN_VAR = "AWS_VAULT_CREDENTIAL_PROCESS_PROFILES";

/** Refuses to run when a credential_process up the process tree is already serving `profile`. */
export function refuseCredentialProcessLoop(
  running: string | undefined,
  profileName: string,
): void {
  if (running?.split(",").includes(profileName)) {
    throw new UserError(
      `profile ${profileName}: its credential_process runs aws-vault for ${profileName} again (a loop); point credential_process at another profile`,
    );
  }
}
