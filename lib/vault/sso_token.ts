/**
 * The IAM Identity Center access token of one start URL: from the vault while it lives, else
 * renewed with the refresh token (no browser), else a new sign-in (authorization code with
 * PKCE, or device code). Renewal runs under a cross-process lock, so parallel processes that
 * need the same sign-in open one browser tab and all use its token.
 */
import { oidcEndpoint } from "../aws/endpoints.ts";
import { type CreatedToken, type OidcClientFactory, OidcError } from "../aws/sso_oidc_client.ts";
import type { OidcClientRecord, OidcRecord, OidcToken } from "../store/oidc_tokens.ts";
import { DEVICE_CODE_GRANT, ensureClient } from "./sso_client_registration.ts";
import { authCodeSignIn } from "./sso_auth_code.ts";
import { deviceCodeSignIn } from "./sso_device_code.ts";
import type { SignInChoice, SignInUi } from "./sso_sign_in.ts";
import { type Locker, sessionLockName, SIGN_IN_LOCK_TIMES } from "./session_cache.ts";

/** Where tokens are kept (lib/store's OidcTokenStore has this shape). */
export interface SsoTokenStore {
  getRecord(startUrl: string): Promise<OidcRecord | undefined>;
  set(startUrl: string, token: OidcToken, client?: OidcClientRecord): Promise<void>;
  remove(startUrl: string): Promise<boolean>;
}

/** One SSO session: a start URL and where its OIDC service is. */
export interface SsoSessionConfig {
  startUrl: string;
  region: string;
  /** `sso_registration_scopes` (default `sso:account:access`, which yields a refresh token). */
  scopes: string[];
  /** An OIDC endpoint override (`AWS_ENDPOINT_URL_SSO_OIDC`, `endpoint_url`). */
  oidcEndpoint?: string;
}

/** Collaborators. */
export interface SsoTokenDeps {
  store: SsoTokenStore;
  oidc: OidcClientFactory;
  lock: Locker;
  ui: SignInUi;
  choice: SignInChoice;
  now: () => Date;
  debug: (message: string) => void;
}

/** An access token and whether it came from the vault (so a refusal may mean it was revoked). */
export interface AccessToken {
  accessToken: string;
  fromCache: boolean;
}

/** A token with less life than this is renewed before use. */
export const TOKEN_MIN_REMAINING_MS = 60_000;

/** OIDC errors that mean a refresh token (or its client) is no longer good. */
const REFRESH_REFUSED = new Set([
  "InvalidGrantException",
  "ExpiredTokenException",
  "InvalidClientException",
  "UnauthorizedClientException",
  "AccessDeniedException",
  "InvalidRequestException",
]);

/** Refusals that mean the client registration itself is no good (deleted, revoked). */
const CLIENT_REFUSED = new Set(["InvalidClientException", "UnauthorizedClientException"]);

/** The token source of one SSO session. */
export class SsoTokenSource {
  readonly session: SsoSessionConfig;
  readonly #d: SsoTokenDeps;

  constructor(session: SsoSessionConfig, deps: SsoTokenDeps) {
    this.session = session;
    this.#d = deps;
  }

  /** A usable access token: stored, refreshed, or from a new sign-in. */
  async accessToken(): Promise<AccessToken> {
    const stored = await this.#read();
    if (stored && this.#usable(stored.token)) {
      return { accessToken: stored.token.accessToken, fromCache: true };
    }
    return await this.#locked(async () => {
      // Another process may have signed in while we waited for the lock.
      const again = await this.#read();
      if (again && this.#usable(again.token)) {
        return { accessToken: again.token.accessToken, fromCache: true };
      }
      return { accessToken: await this.#renew(again), fromCache: false };
    });
  }

  /**
   * The portal refused `rejected` (revoked before its stated expiry): drops it and returns a
   * renewed token, unless another process already stored a different one.
   */
  async refused(rejected: string): Promise<AccessToken> {
    return await this.#locked(async () => {
      const current = await this.#read();
      if (current && current.token.accessToken !== rejected && this.#usable(current.token)) {
        return { accessToken: current.token.accessToken, fromCache: false };
      }
      this.#d.debug(`the SSO portal refused the stored token for ${this.session.startUrl}`);
      return { accessToken: await this.#renew(current), fromCache: false };
    });
  }

  #usable(token: OidcToken): boolean {
    return token.expiration.getTime() - this.#d.now().getTime() >= TOKEN_MIN_REMAINING_MS;
  }

  async #read(): Promise<OidcRecord | undefined> {
    try {
      return await this.#d.store.getRecord(this.session.startUrl);
    } catch (err) {
      if (err instanceof Error && err.name === "KeyringError") throw err;
      this.#d.debug(`ignoring an unreadable OIDC token: ${(err as Error).name}`);
      return undefined;
    }
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const name = sessionLockName({
      type: "oidc",
      profileName: this.session.startUrl,
      mfaSerial: "",
    });
    return this.#d.lock(name, fn, SIGN_IN_LOCK_TIMES);
  }

  /** Refresh if possible, else sign in; stores and returns the new access token. */
  async #renew(record: OidcRecord | undefined): Promise<string> {
    const s = this.session;
    const oidc = this.#d.oidc({ region: s.region, endpoint: s.oidcEndpoint });
    let client = record?.client;
    const refreshToken = record?.token.refreshToken;
    if (refreshToken && client && client.region === s.region) {
      try {
        const created = await oidc.createToken({
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          grantType: "refresh_token",
          refreshToken,
        });
        this.#d.debug(`refreshed the SSO access token for ${s.startUrl}`);
        // A reply without a new refresh token leaves the old one in force.
        return await this.#store(created, client, refreshToken);
      } catch (err) {
        if (!(err instanceof OidcError) || !REFRESH_REFUSED.has(err.code)) throw err;
        this.#d.ui.notice(
          `The SSO session for ${s.startUrl} has ended (${err.code}); signing in again.`,
        );
        // A sign-in with the refused client would fail too, after the user approved it.
        if (CLIENT_REFUSED.has(err.code)) client = undefined;
      }
    }
    // Nothing stale stays behind: the old token is dropped before the sign-in starts.
    if (record) await this.#d.store.remove(s.startUrl);
    return await this.#signIn(oidc, client);
  }

  async #signIn(
    oidc: ReturnType<OidcClientFactory>,
    cachedClient: OidcClientRecord | undefined,
  ): Promise<string> {
    const s = this.session;
    const { ui, choice } = this.#d;
    const browser = !choice.printOnly && ui.openBrowser !== undefined;
    const useDeviceCode = choice.useDeviceCode || !browser;
    if (!choice.useDeviceCode && !browser) {
      this.#d.debug(
        choice.printOnly
          ? "--stdout: signing in with a device code"
          : "no browser can be opened here (no DISPLAY/WAYLAND_DISPLAY or no opener on PATH); signing in with a device code",
      );
    }
    const client = await ensureClient(oidc, cachedClient, {
      region: s.region,
      scopes: s.scopes,
      grantType: useDeviceCode ? DEVICE_CODE_GRANT : "authorization_code",
      startUrl: s.startUrl,
    }, { now: this.#d.now, debug: this.#d.debug });
    const created = await ui.interruptible((signal) =>
      useDeviceCode
        ? deviceCodeSignIn({
          oidc,
          client,
          startUrl: s.startUrl,
          ui,
          openBrowser: browser,
          signal,
          now: this.#d.now,
        })
        : authCodeSignIn({
          oidc,
          client,
          startUrl: s.startUrl,
          scopes: s.scopes,
          oidcEndpoint: oidcEndpoint(s.region, s.oidcEndpoint),
          ui,
          signal,
        })
    );
    this.#d.debug(`signed in to ${s.startUrl}`);
    return await this.#store(created, client);
  }

  async #store(
    created: CreatedToken,
    client: OidcClientRecord,
    previousRefreshToken?: string,
  ): Promise<string> {
    const token: OidcToken = {
      accessToken: created.accessToken,
      expiration: new Date(this.#d.now().getTime() + created.expiresIn * 1000),
      tokenType: created.tokenType ?? "Bearer",
      ...(created.idToken ? { idToken: created.idToken } : {}),
      ...(created.refreshToken ?? previousRefreshToken
        ? { refreshToken: created.refreshToken ?? previousRefreshToken }
        : {}),
    };
    await this.#d.store.set(this.session.startUrl, token, client);
    return token.accessToken;
  }
}
