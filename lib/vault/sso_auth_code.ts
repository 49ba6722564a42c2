/**
 * The authorization-code sign-in with PKCE (RFC 7636) and a loopback redirect (RFC 8252), as
 * the AWS CLI does by default: a one-shot HTTP listener on 127.0.0.1 receives the code, which is
 * exchanged together with the verifier that only this process knows.
 */
import type { CreatedToken, OidcClient } from "../aws/sso_oidc_client.ts";
import { bytesToBase64Url } from "../encoding.ts";
import { UserError } from "../errors.ts";
import type { OidcClientRecord } from "../store/oidc_tokens.ts";
import { denied } from "./sso_device_code.ts";
import { cancelled, type SignInUi } from "./sso_sign_in.ts";

/** Inputs of one authorization-code sign-in. */
export interface AuthCodeSignIn {
  oidc: OidcClient;
  client: OidcClientRecord;
  startUrl: string;
  scopes: string[];
  /** The OIDC service's base URL; its `/authorize` page is where the browser goes. */
  oidcEndpoint: string;
  ui: SignInUi;
  signal: AbortSignal;
  /** How long to wait for the browser (default 10 minutes). */
  timeoutMs?: number;
}

const CALLBACK_PATH = "/oauth/callback";
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** Runs the flow; returns the token once the browser came back with a code. */
export async function authCodeSignIn(o: AuthCodeSignIn): Promise<CreatedToken> {
  const verifier = bytesToBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = bytesToBase64Url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  const state = bytesToBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  let settle!: (result: { code: string } | { error: string }) => void;
  const answered = new Promise<{ code: string } | { error: string }>((r) => settle = r);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => {
      const url = new URL(req.url);
      if (url.pathname !== CALLBACK_PATH || url.searchParams.get("state") !== state) {
        return new Response("Not found\n", { status: 404 });
      }
      const code = url.searchParams.get("code");
      const error = url.searchParams.get("error");
      settle(code ? { code } : { error: error ?? "no code" });
      return new Response(
        code
          ? "Signed in to aws-vault. You can close this window.\n"
          : "aws-vault sign-in was not completed. You can close this window.\n",
        { headers: { "content-type": "text/plain; charset=utf-8" } },
      );
    },
  );
  try {
    const redirectUri = `http://127.0.0.1:${server.addr.port}${CALLBACK_PATH}`;
    const authorize = new URL(`${o.oidcEndpoint}/authorize`);
    authorize.search = new URLSearchParams({
      response_type: "code",
      client_id: o.client.clientId,
      redirect_uri: redirectUri,
      state,
      code_challenge_method: "S256",
      scopes: o.scopes.join(" "),
      code_challenge: challenge,
    }).toString();
    o.ui.notice(
      `Opening the sign-in page for ${o.startUrl} in your browser (Ctrl-C to cancel). If it does not open, visit:\n${authorize}`,
    );
    o.ui.openBrowser?.(authorize.toString()).then((ok) => {
      if (!ok) o.ui.notice("Could not open a browser; open the link above on this computer.");
    }, () => {});
    const result = await waitFor(answered, o);
    if ("error" in result) {
      if (result.error === "access_denied") throw denied(o.startUrl);
      throw new UserError(`SSO sign-in for ${o.startUrl} failed: ${oneWord(result.error)}`);
    }
    return await o.oidc.createToken({
      clientId: o.client.clientId,
      clientSecret: o.client.clientSecret,
      grantType: "authorization_code",
      code: result.code,
      redirectUri,
      codeVerifier: verifier,
    });
  } finally {
    await server.shutdown();
  }
}

async function waitFor<T>(answered: Promise<T>, o: AuthCodeSignIn): Promise<T> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new UserError(`SSO sign-in for ${o.startUrl} timed out waiting for the browser`),
        ),
      timeoutMs,
    );
    onAbort = () => reject(cancelled(o.startUrl));
    if (o.signal.aborted) onAbort();
    o.signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([answered, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort) o.signal.removeEventListener("abort", onAbort);
  }
}

/** An error word from the redirect, kept short and printable (it comes from a URL). */
function oneWord(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/g, "?").slice(0, 64);
}
