/**
 * `aws-vault add <profile>`: stores long-term access keys (typed on the terminal, or from
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY with --env), drops the profile's cached sessions and
 * appends a `[profile x]` section to the config if it has none, with the MFA device ARN typed at
 * the prompt (ByteNess) as `mfa_serial`.
 */
import { addProfileSection, loadConfig } from "../config/mod.ts";
import { UserError } from "../errors.ts";
import { CredentialStore, isCredentialKey, SessionStore } from "../store/mod.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { ADD } from "./table.ts";

/** Runs the command; returns the exit code. */
export async function addCommand(
  ctx: CommandContext,
  { args: { profile }, options }: InputOf<typeof ADD>,
): Promise<number> {
  checkProfileName(profile);
  const { runtime } = ctx;
  const config = await loadConfig(runtime, ctx.log);
  const source = config.profileSection(profile)?.source_profile;
  if (source) {
    throw new UserError(
      `profile "${profile}" has source_profile = ${source}: adding credentials to it won't have any effect; add them to "${source}" instead`,
    );
  }

  let accessKeyId: string;
  let secretAccessKey: string;
  if (options.env) {
    accessKeyId = runtime.env.get("AWS_ACCESS_KEY_ID")?.trim() ?? "";
    secretAccessKey = runtime.env.get("AWS_SECRET_ACCESS_KEY")?.trim() ?? "";
    if (!accessKeyId) throw new UserError("--env: AWS_ACCESS_KEY_ID is not set");
    if (!secretAccessKey) throw new UserError("--env: AWS_SECRET_ACCESS_KEY is not set");
  } else {
    accessKeyId = (await runtime.terminal.readLine("Enter Access Key ID: ")).trim();
    if (!accessKeyId) throw new UserError("the access key ID is empty; nothing was stored");
    secretAccessKey =
      (await runtime.terminal.readLine("Enter Secret Access Key: ", { echo: false }))
        .trim();
    if (!secretAccessKey) throw new UserError("the secret access key is empty; nothing was stored");
  }
  const addSection = options.addConfig !== false && !config.hasProfile(profile);
  let mfaSerial = "";
  if (!options.env && addSection) {
    mfaSerial = (await runtime.terminal.readLine(
      "Enter MFA Device ARN (If MFA is not enabled, leave this blank): ",
    )).trim();
    if (/\s/.test(mfaSerial)) throw new UserError("the MFA device ARN contains spaces");
  }
  if (/\s/.test(accessKeyId)) throw new UserError("the access key ID contains spaces");

  const keyring = await ctx.keyring();
  await new CredentialStore(keyring).set(profile, { accessKeyId, secretAccessKey });
  runtime.stdout(`Added credentials to profile "${profile}" in vault\n`);

  const removed = await new SessionStore(keyring, runtime.now).removeForProfile(profile);
  if (removed > 0) runtime.stdout(`Deleted ${removed} existing sessions.\n`);

  if (addSection) {
    if (await addProfileSection(config.path, profile, mfaSerial ? { mfa_serial: mfaSerial } : {})) {
      ctx.log.debug(`added [profile ${profile}] to ${config.path}`);
    }
  }
  return 0;
}

/**
 * Refuses only profile names no config section or keyring item can hold: empty, leading or
 * trailing whitespace (the config file trims it), control characters, brackets (they end a
 * section header), `.`/`..` path parts (a pass entry would reach outside the store), and names
 * shaped like session or `oidc:` token keys (their credentials would be invisible).
 * `team/dev`, `acme:prod`, `50%`, inner spaces and a leading `-` (after `--`) are accepted, as
 * aws-vault accepts them; the backends escape what their storage cannot name.
 */
export function checkProfileName(profile: string): void {
  const why = profile === ""
    ? "it is empty"
    : profile.trim() !== profile
    ? "it starts or ends with whitespace"
    : [...profile].some((c) => c.charCodeAt(0) < 0x20 || c === "\x7f" || c === "[" || c === "]")
    ? "it contains control characters or brackets"
    : profile.split("/").some((part) => part === "." || part === "..")
    ? "it has a '.' or '..' path part"
    : !isCredentialKey(profile)
    ? "the vault would take it for a cached session or an SSO token"
    : undefined;
  if (why) throw new UserError(`invalid profile name ${JSON.stringify(profile)}: ${why}`);
}
