/**
 * GetFederationToken: console-capable temporary credentials for an IAM user's long-term keys
 * (a GetSessionToken session cannot sign in to the console). The federated user is named after
 * the IAM user and gets an allow-all session policy, so it has exactly the user's permissions.
 */
import type { IamClientFactory, IamEndpointOptions } from "../aws/iam_client.ts";
import { UserError } from "../errors.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import { iamUserName } from "./iam_user.ts";
import { type StsTarget, toSeconds } from "./sts_call.ts";

/** The session policy: everything the user may do (the intersection is the user's policy). */
export const ALLOW_ALL_POLICY =
  '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}';

/** GetFederationToken's limits on DurationSeconds (root may only get 1h, AWS says so itself). */
export const FEDERATION_MIN_MS = 900_000;
export const FEDERATION_MAX_MS = 129_600_000;

/** GetFederationToken settings. */
export interface FederationTokenOptions {
  /** Long-term keys, or credentials that may already be able to sign in. */
  source: CredentialProvider;
  sts: StsTarget;
  iam: { clientFor: IamClientFactory; where: IamEndpointOptions };
  durationMs: number;
  debug?: (message: string) => void;
}

/**
 * A federated user's name from an IAM user name: GetFederationToken takes 2-32 characters of
 * `[\w+=,.@-]`, IAM user names are up to 64 of the same set.
 */
export function federationName(userName: string): string {
  let name = userName.replace(/[^\w+=,.@-]/g, "-").slice(0, 32);
  if (name.length < 2) name = `${name}--`.slice(0, 2);
  return name;
}

/** Credentials that can sign in to the console. */
export class FederationTokenProvider implements CredentialProvider {
  readonly #o: FederationTokenOptions;
  #federated = false;

  constructor(options: FederationTokenOptions) {
    this.#o = options;
  }

  /**
   * Whether the last credentials retrieved are a federated user's (exchanged, or already one):
   * their console session lasts as long as the token, and AWS refuses a SessionDuration for it.
   */
  get federated(): boolean {
    return this.#federated;
  }

  /**
   * Role and federated-user sessions are returned as they are; long-term keys are exchanged
   * with GetFederationToken; a GetSessionToken session is refused with the reason.
   */
  async retrieve(): Promise<Credentials> {
    const o = this.#o;
    const creds = await o.source.retrieve();
    const sts = o.sts.clientFor(creds, o.sts.where);
    const who = await sts.getCallerIdentity();
    const resource = who.arn.split(":").slice(5).join(":");
    this.#federated = resource.startsWith("federated-user/");
    if (resource.startsWith("assumed-role/") || this.#federated) {
      o.debug?.(`credentials of ${who.arn} sign in as they are`);
      return creds;
    }
    if (creds.sessionToken) {
      throw new UserError(
        `the credentials of ${who.arn} are a GetSessionToken session, which AWS does not accept for console sign-in; use long-term keys (login -n) or a role`,
      );
    }
    const userName = resource === "root"
      ? "root"
      : await iamUserName(o.iam.clientFor(creds, o.iam.where), who.arn, o.debug);
    const durationMs = Math.min(Math.max(o.durationMs, FEDERATION_MIN_MS), FEDERATION_MAX_MS);
    const token = await sts.getFederationToken({
      name: federationName(userName),
      policy: ALLOW_ALL_POLICY,
      durationSeconds: toSeconds(durationMs),
    });
    this.#federated = true;
    return token;
  }
}
