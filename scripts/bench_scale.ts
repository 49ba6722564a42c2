/**
 * The scale row of `deno task bench`: the same cache-hit `export` and `list` over a small config
 * and vault, and over an IAM Identity Center sized one (2,000 `[profile acct-Role]` sections with
 * sso keys, 5,000 vault items), so the cost of size shows as a difference within one run.
 */

/** Sizes of one fixture. */
export interface ScaleSize {
  label: string;
  /** Generated SSO profiles besides the exported chain (`target` → `base`). */
  ssoProfiles: number;
  /** Vault items in all (the chain's two included). */
  items: number;
}

/** The two sizes the row compares. */
export const SCALE_SIZES: ScaleSize[] = [
  { label: "3 profiles, 2 items", ssoProfiles: 0, items: 2 },
  { label: "2,000 profiles, 5,000 items", ssoProfiles: 2000, items: 5000 },
];

/** The profile the row exports: an MFA role over `base`'s stored keys, with a cached session. */
export const SCALE_PROFILE = "target";
const MFA = "arn:aws:iam::111111111111:mfa/bench";
const ROLE_NAMES = ["AdministratorAccess", "ReadOnly", "PowerUser", "Billing"];

/** What one fixture adds to the bench environment. */
export interface ScaleFixture {
  size: ScaleSize;
  env: Record<string, string>;
}

/**
 * Writes a config and a file vault of this size under `dir`. Filler items share one real item's
 * ciphertext under their own names: only names are listed, only the chain's items decrypted.
 */
export async function writeScaleFixture(
  dir: string,
  size: ScaleSize,
  passphrase: string,
): Promise<ScaleFixture> {
  await Deno.mkdir(dir, { recursive: true });
  const { FileKeyring } = await import("../backends/file.ts");
  const { CredentialStore, SessionStore, formatSessionKey } = await import(
    "../lib/store/mod.ts"
  );
  const config: string[] = ["[default]\nregion = us-east-1\noutput = json\n"];
  const startUrl = "https://d-1234567890.awsapps.com/start";
  if (size.ssoProfiles > 0) {
    config.push(
      `[sso-session corp]\nsso_start_url = ${startUrl}\nsso_region = us-east-1\n` +
        "sso_registration_scopes = sso:account:access\n",
    );
  }
  const ssoNames: string[] = [];
  for (let i = 0; i < size.ssoProfiles; i++) {
    const role = ROLE_NAMES[i % ROLE_NAMES.length];
    const name = `acct${String(Math.floor(i / ROLE_NAMES.length)).padStart(4, "0")}-${role}`;
    ssoNames.push(name);
    config.push(
      `[profile ${name}]\nsso_session = corp\nsso_account_id = ${100000000000 + i}\n` +
        `sso_role_name = ${role}\nregion = eu-west-1\n`,
    );
    // The exported chain sits in the middle of the file, as a hand-added profile would.
    if (i === Math.floor(size.ssoProfiles / 2)) config.push(chainSections());
  }
  if (size.ssoProfiles === 0) config.push(chainSections());
  await Deno.writeTextFile(`${dir}/config`, config.join("\n"));

  const fileDir = `${dir}/keys`;
  const keyring = new FileKeyring(fileDir, {
    passphrase,
    terminal: { readLine: () => Promise.reject(new Error("no terminal in the benchmark")) },
  });
  await new CredentialStore(keyring).set("base", {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  });
  const expiration = new Date(Date.now() + 24 * 3600_000);
  await new SessionStore(keyring, () => new Date()).set(
    { type: "sts.AssumeRole", profileName: SCALE_PROFILE, mfaSerial: MFA },
    {
      accessKeyId: "ASIAIOSFODNN7EXAMPLE",
      secretAccessKey: "session/secret/EXAMPLEKEY",
      sessionToken: "session-token-EXAMPLE",
      expiration,
    },
  );
  const sample = await Deno.readTextFile(`${fileDir}/base`);
  const filler: string[] = [];
  for (const name of ssoNames) {
    filler.push(formatSessionKey({
      type: "sso.GetRoleCredentials",
      profileName: name,
      mfaSerial: startUrl,
      expiration,
    }));
  }
  if (size.ssoProfiles > 0) filler.push(`oidc:${startUrl}`);
  for (let i = 0; filler.length < size.items - 2; i++) {
    filler.push(
      i % 2 ? `user${i}` : formatSessionKey({
        type: "sts.GetSessionToken",
        profileName: `user${i + 1}`,
        mfaSerial: MFA,
        expiration,
      }),
    );
  }
  const { encodeFileName } = await import("../backends/file.ts");
  for (const key of filler) {
    await Deno.writeTextFile(`${fileDir}/${encodeFileName(key)}`, sample, { mode: 0o600 });
  }
  return {
    size,
    env: { AWS_CONFIG_FILE: `${dir}/config`, AWS_VAULT_FILE_DIR: fileDir },
  };
}

/**
 * Waits until fixtures just written are old enough for the caches a cache hit relies on (the
 * session index and the config's section table are written only for files left alone that
 * long): the next run of each case writes them, so no timed run pays for writing them.
 */
export async function untilFixturesQuiet(): Promise<void> {
  const { QUIET_MS } = await import("../lib/fs/stamp.ts");
  await new Promise((resolve) => setTimeout(resolve, QUIET_MS + 1100));
}

function chainSections(): string {
  return `[profile base]\nregion = eu-west-1\n\n[profile ${SCALE_PROFILE}]\n` +
    `source_profile = base\nrole_arn = arn:aws:iam::111111111111:role/Deploy\n` +
    `mfa_serial = ${MFA}\n`;
}

/** The commands of the row, per fixture. */
export const SCALE_COMMANDS: { name: string; args: string[] }[] = [
  { name: "export --format=json target", args: ["export", "--format=json", SCALE_PROFILE] },
  { name: "list", args: ["list"] },
];
