/** AssumeRole: credentials of `role_arn`, from a source profile's credentials. */
import type { MfaCodes, MfaRequest } from "../prompt/mfa.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import { mfaCodeOnce, type StsTarget, toSeconds, withSourceCredentials } from "./sts_call.ts";

/** AssumeRole settings, from the profile. */
export interface AssumeRoleOptions {
  source: CredentialProvider;
  sts: StsTarget;
  roleArn: string;
  /** `role_session_name`; defaults to `aws-vault-<unix ms>`. */
  roleSessionName?: string;
  durationMs: number;
  externalId?: string;
  sessionTags?: Record<string, string>;
  transitiveTagKeys?: string[];
  sourceIdentity?: string;
  mfa?: { request: MfaRequest; codes: MfaCodes };
  now: () => Date;
}

/** Calls sts:AssumeRole on every retrieve. */
export class AssumeRoleProvider implements CredentialProvider {
  readonly #o: AssumeRoleOptions;

  constructor(options: AssumeRoleOptions) {
    this.#o = options;
  }

  /** Fresh role credentials from STS. */
  async retrieve(): Promise<Credentials> {
    const o = this.#o;
    const tokenCode = mfaCodeOnce(o.mfa);
    return await withSourceCredentials(o.source, o.sts, async (client) =>
      client.assumeRole({
        roleArn: o.roleArn,
        roleSessionName: o.roleSessionName || defaultRoleSessionName(o.now()),
        durationSeconds: toSeconds(o.durationMs),
        externalId: o.externalId,
        serialNumber: o.mfa?.request.serial,
        tokenCode: await tokenCode(),
        sessionTags: o.sessionTags,
        transitiveTagKeys: o.transitiveTagKeys,
        sourceIdentity: o.sourceIdentity,
      }));
  }
}

/** A readable default session name (CloudTrail shows it): `aws-vault-<unix ms>`. */
export function defaultRoleSessionName(now: Date): string {
  return `aws-vault-${now.getTime()}`;
}
