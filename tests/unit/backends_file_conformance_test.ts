/**
 * The shared keyring conformance suite against the file backend (aws-vault's JWE directory),
 * opened the way the CLI opens it: `--file-dir` plus AWS_VAULT_FILE_PASSPHRASE from the env.
 */
import { keyringConformance } from "../support/keyring_conformance.ts";
import { testRuntime } from "../support/runtime.ts";
import { openFileKeyring } from "../../backends/file.ts";
import type { GlobalOptions } from "../../lib/cli/global.ts";

keyringConformance("file", async () => {
  const home = await Deno.makeTempDir({ prefix: "aws-vault-file-conformance-" });
  const runtime = testRuntime({
    home,
    env: { HOME: home, AWS_VAULT_FILE_PASSPHRASE: "conformance passphrase" },
  });
  const options: GlobalOptions = {
    debug: false,
    keychain: "aws-vault",
    secretServiceCollection: "awsvault",
    fileDir: "~/vault/keys/",
    keyctlScope: "user",
  };
  return {
    keyring: await openFileKeyring(options, runtime),
    cleanup: () => Deno.remove(home, { recursive: true }),
  };
}, { keepsLabels: true });
