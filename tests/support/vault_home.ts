/**
 * A throwaway aws-vault home for e2e tests: a temp dir with a config file, the file backend
 * (with a passphrase in the environment) and helpers to store keys through `aws-vault add`.
 */
import { runCli } from "./cli.ts";

/** A temp home and the environment that points aws-vault at it. */
export interface VaultHome {
  dir: string;
  env: Record<string, string>;
  /** Stores long-term keys for a profile with `aws-vault add --env`. */
  addKeys(profile: string, accessKeyId: string, secretAccessKey: string): Promise<void>;
  /** Removes the temp dir. */
  cleanup(): Promise<void>;
}

/** Creates a vault home whose config file has `config` as its text. */
export async function vaultHome(
  config: string,
  extraEnv: Record<string, string> = {},
): Promise<VaultHome> {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-e2e-" });
  await Deno.writeTextFile(`${dir}/config`, config);
  const env: Record<string, string> = {
    HOME: dir,
    AWS_CONFIG_FILE: `${dir}/config`,
    AWS_VAULT_BACKEND: "file",
    AWS_VAULT_FILE_DIR: `${dir}/keys`,
    AWS_VAULT_FILE_PASSPHRASE: "test-passphrase",
    // HOME is the temp dir: keep Deno's module cache where it is (no downloads).
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    ...extraEnv,
  };
  return {
    dir,
    env,
    async addKeys(profile, accessKeyId, secretAccessKey) {
      const r = await runCli(["add", "--env", "--no-add-config", profile], {
        env: { ...env, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey },
      });
      if (r.code !== 0) throw new Error(`add failed: ${r.stderr}`);
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
