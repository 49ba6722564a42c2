/**
 * `aws-vault rotate [profile]`: replaces the access key stored for a profile (or for the
 * profile its `source_profile` chain takes keys from) with a new one, and deletes the old key.
 */
import { type IamClientFactory, sdkIamClientFactory } from "../aws/iam_client.ts";
import { errorLine, UserError } from "../errors.ts";
import { profileArgument } from "../exec/guard.ts";
import { type ProfileConfig, resolveProfile } from "../config/mod.ts";
import { sourceChain } from "../config/profile.ts";
import type { Credentials } from "../credentials.ts";
import { buildProvider } from "../vault/chain.ts";
import { chainDeps, requireKnownProfile } from "../vault/for_profile.ts";
import { rotateKey, type RotationDeps, rotationLockName } from "../vault/rotate.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { ROTATE } from "./table.ts";

/** rotate's options. */
export interface RotateOptions {
  /** false with `--no-session`: the stored keys make the IAM calls themselves. */
  session?: boolean;
}

/** Test seams. */
export interface RotateSeams {
  iam?: IamClientFactory;
  sleep?: (ms: number) => Promise<void>;
  verifyTimeoutMs?: number;
}

/** Runs the command; returns the exit code. */
export async function rotateCommand(
  ctx: CommandContext,
  { args: { profile: profileArg }, options }: InputOf<typeof ROTATE>,
  seams: RotateSeams = {},
): Promise<number> {
  const opts: RotateOptions = { session: options.noSession ? false : undefined };
  const { runtime } = ctx;
  const debug = (m: string) => ctx.log.debug(m);
  const say = (text: string) => runtime.stderr(`${text}\n`);
  const services = await ctx.services();
  const profileName = await profileArgument(
    profileArg,
    runtime,
    async () => (await services.config()).profileNames(),
  );
  await requireKnownProfile(services, profileName);
  const config = await services.config();
  const store = await services.credentials();
  const sessions = await services.sessions();
  const chain = await chainDeps(services);
  const resolve = (name: string) => resolveProfile(config, name, { env: runtime.env });
  const profile = resolve(profileName);
  const keysProfile = (await sourceChain(profile, (n) => store.has(n))).keysAt;
  if (!keysProfile) {
    throw new UserError(
      `no master credentials found for profile '${profileName}': no profile in its source_profile chain has keys in the vault`,
    );
  }
  // As the chain sees it: a source profile's own sections win over the chain-wide variables.
  const keys = keysProfile;
  // As the user, IAM refuses GetSessionToken sessions made without MFA: only a profile with
  // mfa_serial gets one (and then its one MFA code serves every IAM call of the rotation).
  const useKeys = opts.session === false || (!profile.roleArn && !keys.mfaSerial);
  say(
    useKeys
      ? `Rotating credentials stored for profile '${keys.name}' using master credentials (takes 10-20 seconds)`
      : `Rotating credentials stored for profile '${keys.name}' using a session from profile '${profile.name}' (takes 10-20 seconds)`,
  );

  const callerCredentials = async (): Promise<Credentials> => {
    if (useKeys) {
      const stored = await store.get(keys.name);
      if (!stored) throw new UserError(`no credentials stored for profile '${keys.name}'`);
      return stored;
    }
    // Through the role (and whatever chain leads to it), or a GetSessionToken session with MFA.
    const target = profile.roleArn ? profile : keys;
    return await (await buildProvider(target, chain)).retrieve();
  };

  const deps: RotationDeps = {
    store,
    sts: services.sts,
    stsWhere: {
      region: keys.region,
      stsRegionalEndpoints: keys.stsRegionalEndpoints,
      endpointUrl: keys.endpointUrl,
    },
    iam: seams.iam ?? sdkIamClientFactory({ debug }),
    iamWhere: { region: profile.region ?? keys.region, endpointUrl: profile.endpointUrl },
    callerCredentials,
    removeSessions: async () => {
      let n = 0;
      const names = config.profileNames();
      for (const name of dependentProfiles(names, keys.name, resolve, debug)) {
        n += await sessions.removeForProfile(name);
      }
      return n;
    },
    sleep: seams.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    progress: say,
    tick: (text) => runtime.stderr(text),
    debug,
    verifyTimeoutMs: seams.verifyTimeoutMs,
  };
  // Two rotations of one key at once would each create a key and store theirs over the other's
  // (IAM then keeps a key nobody holds): the second waits, then rotates the key the first stored.
  const result = await services.lock(rotationLockName(keys.name), () => rotateKey(keys.name, deps));
  if (result.sessionsRemoved > 0) say(`Deleted ${result.sessionsRemoved} cached sessions.`);
  say("Finished rotating access key");
  return 0;
}

/** `keysProfile` and every config profile whose source_profile chain reaches it. */
function dependentProfiles(
  names: string[],
  keysProfile: string,
  resolve: (name: string) => ProfileConfig,
  debug: (message: string) => void,
): string[] {
  const out = new Set([keysProfile]);
  for (const name of names) {
    let p: ProfileConfig | undefined;
    try {
      p = resolve(name);
    } catch (err) {
      // A broken unrelated profile must not stop the rotation.
      debug(`profile ${name} does not resolve (${errorLine(err)}); its sessions are kept`);
      continue;
    }
    for (let s: ProfileConfig | undefined = p; s; s = s.sourceProfile) {
      if (s.name === keysProfile) out.add(name);
    }
  }
  return [...out];
}
