/** The `--backend` names: aws-vault's and ByteNess's, and which of them this build lacks. */

/** Every backend name `--backend` accepts. */
export const BACKEND_NAMES = [
  "keychain",
  "secret-service",
  "kwallet",
  "keyctl",
  "pass",
  "passage",
  "file",
  "wincred",
  "winhello",
  "op",
  "op-connect",
  "op-desktop",
  "proton-pass",
] as const;

/** One `--backend` name. */
export type BackendName = typeof BACKEND_NAMES[number];

/** Backend names accepted for compatibility that this build does not implement. */
export const UNSUPPORTED_BACKENDS: readonly BackendName[] = [
  "wincred",
  "winhello",
  "op-connect",
  "op-desktop",
  "proton-pass",
];
