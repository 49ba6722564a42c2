/**
 * `aws-vault list` (alias `ls`): config profiles with their stored credentials and cached
 * sessions. Only key names are read, so no item is decrypted and no passphrase is asked;
 * `--profiles` does not open the keyring at all.
 */
// Leaf modules rather than the config and store barrels: those also bring config writing,
// session storage and locks, which listing never uses (start-up time). What only the vault's
// listing needs is imported after `--profiles` (what shell completion runs) has answered.
import { loadConfig, ssoStartUrlOf } from "../config/config_file.ts";
import { formatDuration } from "../duration.ts";
import { escapeControl } from "../encoding.ts";
import type { SessionKey } from "../store/session_key.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { LIST } from "./table.ts";

/** One session as `list --json` shows it. */
interface SessionJson {
  profile: string;
  type: string;
  mfaSerial: string;
  /** RFC 3339. */
  expiration: string;
}

/** Runs the command; returns the exit code. */
export async function listCommand(
  ctx: CommandContext,
  { options }: InputOf<typeof LIST>,
): Promise<number> {
  const { runtime } = ctx;
  // Every profile is shown: one parse of the whole file.
  const config = await loadConfig(runtime, ctx.log, { whole: true });
  const profileNames = config.profileNames();
  if (options.profiles) {
    runtime.stdout(
      options.json
        ? `${JSON.stringify({ profiles: profileNames.map((name) => ({ name })) }, null, 2)}\n`
        : lines(profileNames),
    );
    return 0;
  }

  const [keys, { isCredentialKey, OIDC_KEY_PREFIX }, { parseSessionKey }, { rfc3339Nano }] =
    await Promise.all([
      ctx.keyring().then((keyring) => keyring.keys()),
      import("../store/key_kinds.ts"),
      import("../store/session_key.ts"),
      import("../rfc3339.ts"),
    ]);
  const now = runtime.now();
  const credentials = keys.filter(isCredentialKey).sort();
  const sessions = keys.map(parseSessionKey)
    .filter((s): s is SessionKey => s !== undefined && s.expiration > now)
    // Code-unit order, as the other lists (and Go's sort): localeCompare starts ICU's collator.
    .sort((a, b) => compare(a.profileName, b.profileName) || compare(a.type, b.type));
  const oidcUrls = keys.filter((k) => k.startsWith(OIDC_KEY_PREFIX))
    .map((k) => k.slice(OIDC_KEY_PREFIX.length)).sort();
  // Looked up per profile: sets and a map, so a big config and vault do not multiply.
  const credentialSet = new Set(credentials);
  const oidcSet = new Set(oidcUrls);
  const sessionsOf = new Map<string, SessionKey[]>();
  for (const s of sessions) {
    const list = sessionsOf.get(s.profileName);
    if (list) list.push(s);
    else sessionsOf.set(s.profileName, [s]);
  }
  const label = (s: SessionKey) =>
    `${s.type}:${formatDuration(s.expiration.getTime() - now.getTime())}`;

  if (options.json) {
    const toJson = (s: SessionKey): SessionJson => ({
      profile: s.profileName,
      type: s.type,
      mfaSerial: s.mfaSerial,
      expiration: rfc3339Nano(s.expiration),
    });
    const doc = {
      profiles: profileNames.map((name) => ({
        name,
        credentials: credentialSet.has(name),
        sessions: (sessionsOf.get(name) ?? []).map(toJson),
      })),
      credentials,
      sessions: sessions.map(toJson),
      oidcTokens: oidcUrls,
    };
    runtime.stdout(`${JSON.stringify(doc, null, 2)}\n`);
    return 0;
  }
  if (options.credentials) {
    runtime.stdout(lines(credentials));
    return 0;
  }
  if (options.sessions) {
    runtime.stdout(lines([...sessions.map(label), ...oidcUrls.map((u) => OIDC_KEY_PREFIX + u)]));
    return 0;
  }

  const rows: string[][] = [["Profile", "Credentials", "Sessions"], [
    "=======",
    "===========",
    "========",
  ]];
  const shownSessions = new Set<SessionKey>();
  const shownTokens = new Set<string>();
  for (const name of profileNames) {
    const own = sessionsOf.get(name) ?? [];
    own.forEach((s) => shownSessions.add(s));
    const labels = own.map(label);
    const url = ssoStartUrlOf(config, name);
    if (url && oidcSet.has(url)) {
      labels.push(OIDC_KEY_PREFIX + url);
      shownTokens.add(url);
    }
    rows.push([name, credentialSet.has(name) ? name : "-", labels.join(", ") || "-"]);
  }
  const profileSet = new Set(profileNames);
  for (const cred of credentials) {
    if (!profileSet.has(cred)) rows.push(["-", cred, "-"]);
  }
  for (const s of sessions) if (!shownSessions.has(s)) rows.push(["-", "-", label(s)]);
  for (const url of oidcUrls) {
    if (!shownTokens.has(url)) rows.push(["-", "-", OIDC_KEY_PREFIX + url]);
  }
  runtime.stdout(table(rows));
  return 0;
}

// Names come from files others may write (a shared config, a synced pass store, a stray file in
// the vault directory): a control character in one is shown escaped, so listing cannot drive the
// terminal (`add` refuses such names, so no name a user made changes). JSON escapes its own.
function lines(items: string[]): string {
  return items.map((s) => `${escapeControl(s)}\n`).join("");
}

/** Go tabwriter layout (min width 25, padding 2, spaces); the last column is not padded. */
function table(cells: string[][]): string {
  const rows = cells.map((r) => r.map(escapeControl));
  const widths = [0, 1].map((col) => Math.max(25, ...rows.map((r) => [...r[col]].length + 2)));
  return rows.map((r) =>
    r[0].padEnd(widths[0] + r[0].length - [...r[0]].length) +
    r[1].padEnd(widths[1] + r[1].length - [...r[1]].length) + r[2] + "\n"
  ).join("");
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
