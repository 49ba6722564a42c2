/** What every program we start inherits of our environment, and what it never gets. */

/**
 * Our own secrets, which no child needs (unlike aws-vault, which passes them on): the vault
 * passphrase would let any program we start decrypt the whole vault; the 1Password tokens meant
 * for aws-vault reach only `op`, under 1Password's own variable name (backends/op.ts).
 */
export const PRIVATE_VARIABLES = [
  "AWS_VAULT_FILE_PASSPHRASE",
  "AWS_VAULT_OP_SERVICE_ACCOUNT_TOKEN",
  "AWS_VAULT_OP_CONNECT_TOKEN",
] as const;

/** A copy of `vars` without PRIVATE_VARIABLES: the environment of every program we start. */
export function withoutPrivateVariables(vars: Record<string, string>): Record<string, string> {
  const env = { ...vars };
  for (const name of PRIVATE_VARIABLES) delete env[name];
  return env;
}
