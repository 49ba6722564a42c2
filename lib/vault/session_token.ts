/** GetSessionToken: short-lived credentials from long-term keys, with MFA when configured. */
import type { MfaCodes, MfaRequest } from "../prompt/mfa.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import { mfaCodeOnce, type StsTarget, toSeconds, withSourceCredentials } from "./sts_call.ts";

/** GetSessionToken settings. */
export interface SessionTokenOptions {
  /** The long-term keys. */
  source: CredentialProvider;
  sts: StsTarget;
  durationMs: number;
  /** The MFA device and code source, when the profile has `mfa_serial`. */
  mfa?: { request: MfaRequest; codes: MfaCodes };
}

/** Calls sts:GetSessionToken on every retrieve (wrap it in a CachedSessionProvider). */
export class SessionTokenProvider implements CredentialProvider {
  readonly #o: SessionTokenOptions;

  constructor(options: SessionTokenOptions) {
    this.#o = options;
  }

  /** Fresh session credentials from STS. */
  async retrieve(): Promise<Credentials> {
    const mfa = this.#o.mfa;
    const tokenCode = mfaCodeOnce(mfa);
    return await withSourceCredentials(
      this.#o.source,
      this.#o.sts,
      async (client) =>
        client.getSessionToken({
          durationSeconds: toSeconds(this.#o.durationMs),
          serialNumber: mfa?.request.serial,
          tokenCode: await tokenCode(),
        }),
    );
  }
}
