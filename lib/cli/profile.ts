/**
 * `aws-vault profile <name>`: shows how a profile resolves (each value with its origin: flag,
 * environment, its section, `[default]`, an included profile, an sso-session) and the source
 * chain down to the stored keys, so aws-vault's inheritance rules can be seen, not guessed.
 */
import {
  describeProfile,
  loadConfig,
  type ProfileConfig,
  type ProfileReport,
  resolveProfile,
  sourceChain,
} from "../config/mod.ts";
import { errorLine, UserError } from "../errors.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { PROFILE } from "./table.ts";

/** Whether the keyring holds long-term keys for a profile; unknown if it cannot be opened. */
type Stored = "yes" | "no" | "unknown";

/** The whole answer, as `--json` prints it. */
export interface ProfileView {
  profile: string;
  configFile: string;
  /** The requested profile first, then each source it reaches. */
  profiles: ProfileReport[];
  /** Profile names from the requested one to where credentials come from. */
  sourceChain: string[];
  storedCredentials: Stored;
  /** Where the last profile of the chain gets credentials when nothing is stored. */
  credentialSource?: string;
  /** False with `--no-session`: GetSessionToken is never called. */
  getSessionToken: boolean;
}

/** Runs the command; returns the exit code. */
export async function profileCommand(
  ctx: CommandContext,
  { args: { profile: name }, options: opts }: InputOf<typeof PROFILE>,
): Promise<number> {
  const { runtime } = ctx;
  const config = await loadConfig(runtime, ctx.log);
  const profile = resolveProfile(config, name, {
    env: runtime.env,
    flags: { region: opts.region, duration: opts.duration },
  });
  const storedKeys = await listStoredKeys(ctx);
  if (!config.hasProfile(name) && !storedKeys?.has(name)) {
    const why = storedKeys ? " and no stored credentials exist for it" : "";
    throw new UserError(`profile '${name}' not found in ${config.path}${why}`);
  }

  const chain = (await sourceChain(profile, (name) => storedKeys?.has(name) ?? false)).profiles;
  const last = chain[chain.length - 1];
  const stored: Stored = storedKeys ? (storedKeys.has(last.name) ? "yes" : "no") : "unknown";
  const view: ProfileView = {
    profile: name,
    configFile: config.path,
    profiles: chain.map((p) => describeProfile(p, config)),
    sourceChain: chain.map((p) => p.name),
    storedCredentials: stored,
    ...(stored === "no" ? withCredentialSource(last) : {}),
    getSessionToken: !opts.noSession,
  };
  runtime.stdout(opts.json ? `${JSON.stringify(view, null, 2)}\n` : renderText(view));
  return 0;
}

/**
 * The keys in the keyring, or undefined when it cannot be opened (not created yet, or it needs
 * a passphrase and there is no terminal): this command never fails for that.
 */
async function listStoredKeys(ctx: CommandContext): Promise<Set<string> | undefined> {
  try {
    const keyring = await ctx.keyring();
    return new Set(await keyring.keys());
  } catch (err) {
    ctx.log.debug(`cannot list stored credentials: ${errorLine(err)}`);
    return undefined;
  }
}

function withCredentialSource(profile: ProfileConfig): { credentialSource?: string } {
  if (profile.ssoStartUrl) return { credentialSource: `SSO ${profile.ssoStartUrl}` };
  if (profile.webIdentityTokenFile || profile.webIdentityTokenProcess) {
    return { credentialSource: "web identity token" };
  }
  if (profile.credentialProcess) return { credentialSource: "credential_process" };
  return {};
}

function renderText(view: ProfileView): string {
  const lines: string[] = [];
  view.profiles.forEach((report, index) => {
    const title = index === 0 ? "Profile" : "Source profile";
    const where = report.section
      ? `from [${report.section}] in ${view.configFile}`
      : `no section in ${view.configFile}`;
    lines.push(`${title} ${report.name} (${where})`);
    const rows: [string, string, string][] = report.values.map((v) => [
      v.key,
      v.value.replaceAll("\n", " "),
      v.from,
    ]);
    const durations = report.durations
      .filter((d) => view.getSessionToken || d.call !== "GetSessionToken")
      .map((d) => {
        const notes = [...(d.chained ? ["chained"] : []), d.from];
        return `${d.call} ${d.text} (${notes.join(", ")})`;
      });
    rows.push(["durations", durations.join(", "), ""]);
    if (report.minTtl.from !== "default") {
      rows.push(["min_ttl", report.minTtl.text, report.minTtl.from]);
    }
    const keyWidth = Math.max(...rows.map((r) => r[0].length)) + 2;
    const valueWidth = Math.max(...rows.filter((r) => r[2] !== "").map((r) => r[1].length), 0) +
      2;
    for (const [key, value, from] of rows) {
      const line = from === ""
        ? `  ${key.padEnd(keyWidth)}${value}`
        : `  ${key.padEnd(keyWidth)}${value.padEnd(valueWidth)}${from}`;
      lines.push(line);
    }
  });
  const source = view.credentialSource ? `; credentials from ${view.credentialSource}` : "";
  lines.push(
    `Source chain: ${
      view.sourceChain.join(" -> ")
    } (stored credentials: ${view.storedCredentials}${source})`,
  );
  if (!view.getSessionToken) lines.push("GetSessionToken: skipped (--no-session)");
  return lines.join("\n") + "\n";
}
