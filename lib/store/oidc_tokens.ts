/**
 * SSO (IAM Identity Center) OIDC access tokens, stored as aws-vault stores them: key
 * `oidc:<start url>`, Data = `{"Token":{<CreateTokenOutput>},"Expiration":"<RFC3339Nano>"}`.
 */
import { type Keyring, newItem } from "../../backends/keyring.ts";
import { goJsonEscape, objectFields, parseGoObject, stringField, timeField } from "../go_json.ts";
import { rfc3339, rfc3339Nano } from "../rfc3339.ts";
import { OIDC_KEY_PREFIX } from "./key_kinds.ts";

/** An OIDC token for one SSO start URL. */
export interface OidcToken {
  accessToken: string;
  /** When the access token stops working. */
  expiration: Date;
  /** Usually `Bearer`. */
  tokenType?: string;
  idToken?: string;
  /** Present when the token was obtained with a refresh-capable client. */
  refreshToken?: string;
}

/**
 * The OIDC client a token was issued to (needed to refresh it, and reused for the next sign-in
 * until it expires). Stored beside the token in an extra `Client` field, which aws-vault's
 * reader ignores.
 */
export interface OidcClientRecord {
  clientId: string;
  clientSecret: string;
  /** When the client registration expires. */
  expiresAt: Date;
  region: string;
  scopes: string[];
  grantTypes: string[];
}

/** A stored token and the client it belongs to. */
export interface OidcRecord {
  token: OidcToken;
  client?: OidcClientRecord;
}

/** Encodes a token as aws-vault's Data JSON; ExpiresIn is counted from `now`. */
export function encodeOidcTokenData(
  token: OidcToken,
  now: Date,
  client?: OidcClientRecord,
): string {
  const expiresIn = Math.max(0, Math.floor((token.expiration.getTime() - now.getTime()) / 1000));
  return goJsonEscape(JSON.stringify({
    Token: {
      AccessToken: token.accessToken,
      ExpiresIn: expiresIn,
      IdToken: token.idToken ?? null,
      RefreshToken: token.refreshToken ?? null,
      TokenType: token.tokenType ?? "Bearer",
      ResultMetadata: {},
    },
    Expiration: rfc3339Nano(token.expiration),
    ...(client
      ? {
        Client: {
          ClientId: client.clientId,
          ClientSecret: client.clientSecret,
          ExpiresAt: rfc3339Nano(client.expiresAt),
          Region: client.region,
          Scopes: client.scopes,
          GrantTypes: client.grantTypes,
        },
      }
      : {}),
  }));
}

/** Decodes a stored token with its client, when it has one. */
export function decodeOidcRecord(text: string): OidcRecord | undefined {
  const token = decodeOidcTokenData(text);
  if (!token) return undefined;
  const c = objectFields(parseGoObject(text)?.get("client"));
  if (!c) return { token };
  const clientId = stringField(c, "ClientId");
  const clientSecret = stringField(c, "ClientSecret");
  const expiresAt = timeField(c, "ExpiresAt");
  const region = stringField(c, "Region");
  if (!clientId || !clientSecret || !expiresAt || !region) return { token };
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  return {
    token,
    client: {
      clientId,
      clientSecret,
      expiresAt,
      region,
      scopes: strings(c.get("scopes")),
      grantTypes: strings(c.get("granttypes")),
    },
  };
}

/** Decodes aws-vault's OIDC token Data JSON; undefined when it is not a token. */
export function decodeOidcTokenData(text: string): OidcToken | undefined {
  const outer = parseGoObject(text);
  const inner = outer && objectFields(outer.get("token"));
  if (!outer || !inner) return undefined;
  const accessToken = stringField(inner, "AccessToken");
  const expiration = timeField(outer, "Expiration");
  if (!accessToken || !expiration) return undefined;
  const tokenType = stringField(inner, "TokenType");
  const idToken = stringField(inner, "IdToken");
  const refreshToken = stringField(inner, "RefreshToken");
  return {
    accessToken,
    expiration,
    ...(tokenType ? { tokenType } : {}),
    ...(idToken ? { idToken } : {}),
    ...(refreshToken ? { refreshToken } : {}),
  };
}

/** OIDC tokens in a keyring, one item per start URL. */
export class OidcTokenStore {
  #keyring: Keyring;
  #now: () => Date;

  constructor(keyring: Keyring, now: () => Date) {
    this.#keyring = keyring;
    this.#now = now;
  }

  /**
   * The token for a start URL. An expired token is deleted and reported missing, unless it has
   * a refresh token: then it is returned (expired) so the caller can refresh it.
   */
  async get(startUrl: string): Promise<OidcToken | undefined> {
    const key = OIDC_KEY_PREFIX + startUrl;
    const item = await this.#keyring.get(key);
    if (!item) return undefined;
    const token = decodeOidcTokenData(new TextDecoder().decode(item.data));
    if (!token) return undefined;
    if (token.expiration.getTime() <= this.#now().getTime() && !token.refreshToken) {
      await this.#keyring.remove(key);
      return undefined;
    }
    return token;
  }

  /** The stored token and client for a start URL, expired or not; undefined when unreadable. */
  async getRecord(startUrl: string): Promise<OidcRecord | undefined> {
    const item = await this.#keyring.get(OIDC_KEY_PREFIX + startUrl);
    if (!item) return undefined;
    return decodeOidcRecord(new TextDecoder().decode(item.data));
  }

  /** Stores the token (and its client) for a start URL, replacing any. */
  async set(startUrl: string, token: OidcToken, client?: OidcClientRecord): Promise<void> {
    await this.#keyring.set(newItem({
      key: OIDC_KEY_PREFIX + startUrl,
      data: new TextEncoder().encode(encodeOidcTokenData(token, this.#now(), client)),
      label: `aws-vault oidc token for ${startUrl} (expires ${rfc3339(token.expiration)})`,
      description: "aws-vault oidc token",
    }));
  }

  /** Removes the token for a start URL; false when there was none. */
  remove(startUrl: string): Promise<boolean> {
    return this.#keyring.remove(OIDC_KEY_PREFIX + startUrl);
  }

  /** Start URLs with a stored token, sorted. */
  async list(): Promise<string[]> {
    return (await this.#keyring.keys())
      .filter((k) => k.startsWith(OIDC_KEY_PREFIX))
      .map((k) => k.slice(OIDC_KEY_PREFIX.length))
      .sort();
  }
}
