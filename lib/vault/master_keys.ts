/** Long-term access keys stored in the vault under the profile's name. */
import { UserError } from "../errors.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";

/** Read access to stored long-term keys (lib/store's CredentialStore has this shape). */
export interface MasterKeyStore {
  has(profileName: string): Promise<boolean>;
  get(profileName: string): Promise<Credentials | undefined>;
}

/** Reads the stored keys on every retrieve (so a rotated key is picked up at once). */
export class MasterKeysProvider implements CredentialProvider {
  readonly profileName: string;
  readonly #store: MasterKeyStore;

  constructor(store: MasterKeyStore, profileName: string) {
    this.#store = store;
    this.profileName = profileName;
  }

  /** The stored keys; a UserError when there are none. */
  async retrieve(): Promise<Credentials> {
    const creds = await this.#store.get(this.profileName);
    if (!creds) {
      throw new UserError(
        `no credentials stored for profile '${this.profileName}' (use 'aws-vault add ${this.profileName}')`,
      );
    }
    return { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey };
  }
}
