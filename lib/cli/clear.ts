/**
 * `aws-vault clear [profile]`: deletes cached sessions and SSO tokens. Without a profile:
 * every session (legacy ones too) and every OIDC token; with one: that profile's sessions and
 * the OIDC token of its SSO start URL; with the name of an `[sso-session]`, that session's token.
 */
import { loadConfig, ssoStartUrlOf } from "../config/mod.ts";
import { OidcTokenStore, SessionStore } from "../store/mod.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { CLEAR } from "./table.ts";

/** Runs the command; returns the exit code. */
export async function clearCommand(
  ctx: CommandContext,
  { args: { profile } }: InputOf<typeof CLEAR>,
): Promise<number> {
  const { runtime } = ctx;
  let startUrl: string | undefined;
  if (profile) {
    const config = await loadConfig(runtime, ctx.log);
    // A name that is an [sso-session] but no profile clears that session's token.
    startUrl = config.profileSection(profile) === undefined
      ? config.ssoSessionSection(profile)?.sso_start_url
      : ssoStartUrlOf(config, profile);
  }
  const keyring = await ctx.keyring();
  const sessions = new SessionStore(keyring, runtime.now, {
    notice: (text) => runtime.stderr(`aws-vault: ${text}\n`),
  });
  const tokens = new OidcTokenStore(keyring, runtime.now);
  let n = 0;
  if (profile) {
    n += await sessions.removeForProfile(profile);
    if (startUrl && await tokens.remove(startUrl)) n++;
  } else {
    n += await sessions.removeAll();
    for (const url of await tokens.list()) if (await tokens.remove(url)) n++;
  }
  runtime.stdout(`Cleared ${n} sessions.\n`);
  return 0;
}
