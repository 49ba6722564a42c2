/**
 * The device-code sign-in (RFC 8628): show the user a URL and code, then poll CreateToken until
 * they approve. `authorization_pending` keeps polling, `slow_down` adds 5 s to the interval and
 * keeps polling (aws-vault gives up there), `expired_token` and `access_denied` end it.
 */
import { type CreatedToken, type OidcClient, OidcError } from "../aws/sso_oidc_client.ts";
import { UserError } from "../errors.ts";
import type { OidcClientRecord } from "../store/oidc_tokens.ts";
import { DEVICE_CODE_GRANT } from "./sso_client_registration.ts";
import { cancelled, type SignInUi } from "./sso_sign_in.ts";

/** Inputs of one device-code sign-in. */
export interface DeviceCodeSignIn {
  oidc: OidcClient;
  client: OidcClientRecord;
  startUrl: string;
  ui: SignInUi;
  /** Open the verification page in the browser too (when one can be opened). */
  openBrowser: boolean;
  signal: AbortSignal;
  now: () => Date;
}

const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_STEP_S = 5;
/** Polls at least this often, whatever the service asks (a timer over 2^31 ms fires at once). */
const MAX_INTERVAL_S = 60;
/**
 * The longest wait for an approval, whatever `expiresIn` says: the processes waiting for the
 * sign-in lock give up after 11 minutes (SIGN_IN_LOCK_TIMES), as the browser flow's limit is 10.
 */
const MAX_WAIT_MS = 10 * 60_000;

/** Runs the flow; returns the token once the user approved. */
export async function deviceCodeSignIn(o: DeviceCodeSignIn): Promise<CreatedToken> {
  const auth = await o.oidc.startDeviceAuthorization({
    clientId: o.client.clientId,
    clientSecret: o.client.clientSecret,
    startUrl: o.startUrl,
  });
  // What the service sent reaches the terminal and the opener: printable text, web URLs only.
  const page = printable(auth.verificationUriComplete || auth.verificationUri);
  o.ui.notice(
    `To sign in to ${o.startUrl}, open this page and confirm the code ${
      printable(auth.userCode)
    } (Ctrl-C to cancel):\n${page}`,
  );
  if (o.openBrowser && o.ui.openBrowser && isWebUrl(page)) {
    o.ui.openBrowser(page).catch(() => {});
  }
  const deadline = o.now().getTime() + Math.min(auth.expiresIn * 1000, MAX_WAIT_MS);
  let interval = Math.min(Math.max(1, auth.interval ?? DEFAULT_INTERVAL_S), MAX_INTERVAL_S);
  for (;;) {
    // Never past the deadline: the code is dead by then, and the user would wait for nothing.
    const left = Math.max(0, deadline - o.now().getTime());
    try {
      await o.ui.sleep(Math.min(interval * 1000, left), o.signal);
    } catch {
      throw cancelled(o.startUrl);
    }
    if (o.now().getTime() >= deadline) throw expired(o.startUrl);
    try {
      return await o.oidc.createToken({
        clientId: o.client.clientId,
        clientSecret: o.client.clientSecret,
        grantType: DEVICE_CODE_GRANT,
        deviceCode: auth.deviceCode,
      });
    } catch (err) {
      if (!(err instanceof OidcError)) throw err;
      if (err.code === "AuthorizationPendingException") continue;
      if (err.code === "SlowDownException") {
        interval = Math.min(interval + SLOW_DOWN_STEP_S, MAX_INTERVAL_S);
        continue;
      }
      if (err.code === "ExpiredTokenException") throw expired(o.startUrl);
      if (err.code === "AccessDeniedException") throw denied(o.startUrl);
      throw err;
    }
  }
}

/** Text without control characters (no terminal escapes from a server), at most 2 KiB. */
export function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?").slice(0, 2048);
}

/** Whether a URL may be given to the browser opener: https, or http on loopback. */
export function isWebUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && (url.hostname === "127.0.0.1" || url.hostname === "[::1]" ||
    url.hostname === "localhost");
}

function expired(startUrl: string): UserError {
  return new UserError(
    `SSO sign-in for ${startUrl} was not approved in time; run the command again`,
  );
}

/** The error of a sign-in the user (or their administrator) refused. */
export function denied(startUrl: string): UserError {
  return new UserError(`SSO sign-in for ${startUrl} was denied`);
}
