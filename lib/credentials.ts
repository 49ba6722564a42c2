/** AWS credentials and the provider shape every credential source implements. */

/** A set of AWS credentials. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for temporary credentials. */
  sessionToken?: string;
  /** When temporary credentials stop working; absent for long-term keys. */
  expiration?: Date;
}

/** Something that can produce credentials: stored keys, STS, SSO, a process. */
export interface CredentialProvider {
  /** Returns credentials, calling AWS or prompting when needed. */
  retrieve(): Promise<Credentials>;
}
