/**
 * Console sign-in URLs per partition (aws, aws-cn, aws-us-gov, aws-eusc): the federation
 * endpoint that turns credentials into a sign-in token, the console page to land on, the login
 * link and the optional logout-first wrapper. Pure: no network.
 */
import { UserError } from "../errors.ts";

/** Where a partition's console and federation endpoint are. */
export interface ConsolePartition {
  /** `aws`, `aws-cn`, `aws-us-gov`, `aws-eusc`. */
  name: string;
  /** The federation endpoint (getSigninToken and login). */
  federationUrl: string;
  /** The console origin for a region, e.g. `https://eu-west-1.console.aws.amazon.com`. */
  consoleOrigin(region: string): string;
  /** The console origin when no region is known. */
  defaultConsoleOrigin: string;
}

/** A region name as AWS spells them (`us-east-1`, `eusc-de-east-1`, `us-gov-west-1`). */
const REGION = /^[a-z]{2,5}(-[a-z]+)+-\d{1,2}$/;

/** The console partition of a region (undefined region: the commercial one). */
export function consolePartition(region: string | undefined): ConsolePartition {
  if (region !== undefined && !REGION.test(region)) {
    throw new UserError(`"${region}" is not an AWS region name (like us-east-1)`);
  }
  const r = region ?? "us-east-1";
  if (r.startsWith("cn-")) return simple("aws-cn", "signin.amazonaws.cn", "console.amazonaws.cn");
  if (r.startsWith("us-gov-")) {
    return simple("aws-us-gov", "signin.amazonaws-us-gov.com", "console.amazonaws-us-gov.com");
  }
  if (r.startsWith("eusc-")) {
    return simple("aws-eusc", "signin.amazonaws-eusc.eu", "console.amazonaws-eusc.eu");
  }
  if (/^(us-iso[a-z]*|eu-isoe)-/.test(r)) {
    throw new UserError(`region ${r} is in an isolated partition, which has no console sign-in`);
  }
  // The commercial partition has a sign-in endpoint per region; us-east-1's is the global one.
  const signinHost = r === "us-east-1" ? "signin.aws.amazon.com" : `${r}.signin.aws.amazon.com`;
  return {
    name: "aws",
    federationUrl: `https://${signinHost}/federation`,
    consoleOrigin: (reg) => `https://${reg}.console.aws.amazon.com`,
    defaultConsoleOrigin: "https://console.aws.amazon.com",
  };
}

function simple(name: string, signinHost: string, consoleHost: string): ConsolePartition {
  return {
    name,
    federationUrl: `https://${signinHost}/federation`,
    consoleOrigin: (reg) => `https://${reg}.${consoleHost}`,
    defaultConsoleOrigin: `https://${consoleHost}`,
  };
}

/**
 * The console page to land on: `--path` (e.g. `ec2/v2/home`, `s3/buckets?tab=x`) under the
 * region's console, with `region=` added; the console home without `--path`. A path can never
 * leave the console origin (`//evil.example`, `https://...`, `..` past the root are refused).
 */
export function consoleDestination(
  partition: ConsolePartition,
  region: string | undefined,
  path: string | undefined,
): string {
  const origin = region ? partition.consoleOrigin(region) : partition.defaultConsoleOrigin;
  if (!path) return region ? `${origin}/console/home?region=${region}` : `${origin}/`;
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x20\x7f\\]/.test(path) || /^[a-z][a-z0-9+.-]*:/i.test(path) || /^\/\//.test(path)) {
    throw new UserError(`--path "${path}" is not a console path (like ec2/v2/home)`);
  }
  const url = new URL(path.replace(/^\/+/, ""), `${origin}/`);
  if (url.origin !== origin) {
    throw new UserError(`--path "${path}" leaves the console (${origin})`);
  }
  if (region && !url.searchParams.has("region")) url.searchParams.set("region", region);
  return url.toString();
}

/** The getSigninToken request URL (it carries the credentials: never log or show it). */
export function signinTokenUrl(
  federationUrl: string,
  session: { accessKeyId: string; secretAccessKey: string; sessionToken: string },
  sessionDurationSeconds?: number,
): string {
  const url = new URL(federationUrl);
  url.searchParams.set("Action", "getSigninToken");
  if (sessionDurationSeconds !== undefined) {
    url.searchParams.set("SessionDuration", String(sessionDurationSeconds));
  }
  url.searchParams.set(
    "Session",
    JSON.stringify({
      sessionId: session.accessKeyId,
      sessionKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
    }),
  );
  return url.toString();
}

/** The login link: the federation endpoint with the sign-in token and the destination. */
export function loginUrl(federationUrl: string, signinToken: string, destination: string): string {
  const url = new URL(federationUrl);
  url.searchParams.set("Action", "login");
  url.searchParams.set("Issuer", "aws-vault");
  url.searchParams.set("Destination", destination);
  url.searchParams.set("SigninToken", signinToken);
  return url.toString();
}

/**
 * `--auto-logout`: sign out of the current console session first, then follow the login link.
 * The logout endpoint is on the same sign-in host as the federation endpoint (ByteNess always
 * used the commercial one, which cannot redirect to cn or gov).
 */
export function logoutFirstUrl(federationUrl: string, login: string): string {
  const url = new URL("/oauth", new URL(federationUrl).origin);
  url.searchParams.set("Action", "logout");
  url.searchParams.set("redirect_uri", login);
  return url.toString();
}
