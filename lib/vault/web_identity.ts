/**
 * AssumeRoleWithWebIdentity (reference 2.8): the token is the raw content of
 * `web_identity_token_file`, or what `web_identity_token_process` prints; the call is unsigned.
 */
import type { UnsignedStsClientFactory } from "../aws/sts_client.ts";
import type { StsEndpointOptions } from "../aws/sts_endpoint.ts";
import { UserError } from "../errors.ts";
import { defaultRoleSessionName } from "./assume_role.ts";
import { readBounded, runSourceProcess } from "./source_process.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import { toSeconds } from "./sts_call.ts";

/** Web identity settings, from the profile. */
export interface WebIdentityOptions {
  profileName: string;
  roleArn: string;
  roleSessionName?: string;
  durationMs: number;
  tokenFile?: string;
  tokenProcess?: string;
  sts: UnsignedStsClientFactory;
  where: StsEndpointOptions;
  /** The environment of the token process (our own minus private variables). */
  processEnv: Record<string, string>;
  now: () => Date;
}

/** Tokens are JWTs of a few kilobytes; anything much larger is not one. */
export const MAX_TOKEN_BYTES = 1 << 20;

/** Calls sts:AssumeRoleWithWebIdentity on every retrieve. */
export class WebIdentityProvider implements CredentialProvider {
  readonly #o: WebIdentityOptions;

  constructor(options: WebIdentityOptions) {
    this.#o = options;
  }

  /** Fresh role credentials. */
  async retrieve(): Promise<Credentials> {
    const o = this.#o;
    const token = await this.#token();
    if (token.trim() === "") {
      throw new UserError(`profile ${o.profileName}: the web identity token is empty`);
    }
    return await o.sts(o.where).assumeRoleWithWebIdentity({
      roleArn: o.roleArn,
      roleSessionName: o.roleSessionName || defaultRoleSessionName(o.now()),
      durationSeconds: toSeconds(o.durationMs),
      webIdentityToken: token,
    });
  }

  async #token(): Promise<string> {
    const o = this.#o;
    if (o.tokenFile) {
      let file: Deno.FsFile;
      try {
        // Checked before opening: opening a FIFO would block until someone writes to it.
        if (!(await Deno.stat(o.tokenFile)).isFile) {
          throw new UserError(
            `profile ${o.profileName}: web_identity_token_file ${o.tokenFile} is not a file`,
          );
        }
        file = await Deno.open(o.tokenFile, { read: true });
      } catch (err) {
        if (err instanceof UserError) throw err;
        throw new UserError(
          `profile ${o.profileName}: cannot read web_identity_token_file ${o.tokenFile}: ${
            (err as Error).message
          }`,
        );
      }
      try {
        const bytes = await readBounded(file.readable, MAX_TOKEN_BYTES);
        if (bytes === undefined) {
          throw new UserError(
            `profile ${o.profileName}: web_identity_token_file ${o.tokenFile} is larger than ${MAX_TOKEN_BYTES} bytes`,
          );
        }
        return new TextDecoder().decode(bytes);
      } finally {
        try {
          file.close();
        } catch { /* closed by the stream */ }
      }
    }
    return await runSourceProcess(o.tokenProcess!, {
      label: `profile ${o.profileName}: web_identity_token_process`,
      env: o.processEnv,
      maxBytes: MAX_TOKEN_BYTES,
    });
  }
}
