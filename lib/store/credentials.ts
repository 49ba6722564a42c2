/**
 * Long-term credentials in a keyring, as aws-vault stores them: key = profile name, label
 * `aws-vault (<profile>)`, Data = the Go SDK's aws.Credentials JSON.
 */
import { type Keyring, newItem } from "../../backends/keyring.ts";
import type { Credentials } from "../credentials.ts";
import { goJsonEscape, parseGoObject, stringField } from "../go_json.ts";
import { isCredentialKey } from "./key_kinds.ts";
import { KeyringError } from "../../backends/keyring.ts";

/** aws-vault's Data JSON for long-term credentials (99designs v7 field set and order). */
export function encodeCredentialsData(creds: Credentials): string {
  return goJsonEscape(JSON.stringify({
    AccessKeyID: creds.accessKeyId,
    SecretAccessKey: creds.secretAccessKey,
    SessionToken: "",
    Source: "",
    CanExpire: false,
    Expires: "0001-01-01T00:00:00Z",
  }));
}

/** Decodes credential Data JSON; undefined when it has no access key and secret. */
export function decodeCredentialsData(text: string): Credentials | undefined {
  const fields = parseGoObject(text);
  if (!fields) return undefined;
  const accessKeyId = stringField(fields, "AccessKeyID");
  const secretAccessKey = stringField(fields, "SecretAccessKey");
  if (!accessKeyId || !secretAccessKey) return undefined;
  // Long-term keys: any SessionToken/Expires in the item are ignored, as aws-vault does.
  return { accessKeyId, secretAccessKey };
}

/** Long-term credentials, one keyring item per profile. */
export class CredentialStore {
  #keyring: Keyring;

  constructor(keyring: Keyring) {
    this.#keyring = keyring;
  }

  /**
   * Whether credentials are stored for the profile. A backend that can look a name up answers
   * directly; otherwise listed keys need no decryption, and a name not listed is looked up by
   * itself (pass at the store root lists only names it can tell are aws-vault's, so keys added
   * with --no-add-config are found only this way).
   */
  async has(profile: string): Promise<boolean> {
    if (this.#keyring.has) return await this.#keyring.has(profile);
    if ((await this.#keyring.keys()).includes(profile)) return true;
    return (await this.#keyring.get(profile)) !== undefined;
  }

  /** The profile's credentials, or undefined when none are stored. */
  async get(profile: string): Promise<Credentials | undefined> {
    const item = await this.#keyring.get(profile);
    if (!item) return undefined;
    const creds = decodeCredentialsData(new TextDecoder().decode(item.data));
    if (!creds) {
      throw new KeyringError(`stored credentials for profile "${profile}" are not valid`);
    }
    return creds;
  }

  /** Stores the profile's credentials, replacing any. */
  async set(profile: string, creds: Credentials): Promise<void> {
    await this.#keyring.set(newItem({
      key: profile,
      data: new TextEncoder().encode(encodeCredentialsData(creds)),
      label: `aws-vault (${profile})`,
      description: "",
      keychainNotTrustApplication: true,
    }));
  }

  /**
   * Stores the profile's credentials and reads them back: a backend that accepted the write but
   * holds something else (a file vault written under a mistyped passphrase, a full disk that
   * truncated it) fails here, while the caller still has the previous key at hand.
   */
  async replace(profile: string, creds: Credentials): Promise<void> {
    await this.set(profile, creds);
    const back = await this.get(profile);
    if (
      back?.accessKeyId !== creds.accessKeyId || back.secretAccessKey !== creds.secretAccessKey
    ) {
      throw new KeyringError(`the credentials stored for profile "${profile}" did not read back`);
    }
  }

  /** Removes the profile's credentials; false when there were none. */
  remove(profile: string): Promise<boolean> {
    return this.#keyring.remove(profile);
  }

  /** Names of all profiles with stored credentials, sorted. */
  async names(): Promise<string[]> {
    return (await this.#keyring.keys()).filter(isCredentialKey).sort();
  }
}
