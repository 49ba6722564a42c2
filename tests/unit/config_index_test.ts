/**
 * The lazily read config (indexConfig) against the full parse (parseConfig): on generated
 * configs, hostile ones included, every answer and every error must be the same. A malformed
 * line anywhere fails the whole file, as in the AWS SDK and aws-vault, even when the profile
 * asked for does not need its section.
 */
import assert from "node:assert/strict";
import {
  type ConfigFile,
  indexConfig,
  loadConfig,
  parseConfig,
  type ProfileConfig,
  resolveProfile,
} from "../../lib/config/mod.ts";
import { UserError } from "../../lib/errors.ts";
import { envFromObject } from "../../lib/runtime.ts";
import { testRuntime } from "../support/runtime.ts";

/** A small seeded PRNG (mulberry32), so a failure names a reproducible seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ["a", "b", "c", "default", "x y", "a.b", "r-1", "(x)", "é", "a]b", " a", "nope"];
const KEYS = [
  "region",
  "source_profile",
  "include_profile",
  "role_arn",
  "mfa_serial",
  "sso_session",
  "sso_start_url",
  "duration_seconds",
  "session_tags",
  "Role_Arn",
  "s3",
];

/** One line of a generated config: mostly ordinary, sometimes odd or malformed. */
function line(rand: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const name = pick(NAMES);
  const r = rand();
  if (r < 0.2) {
    return pick([
      `[profile ${name}]`,
      `[profile  ${name}]`,
      `  [profile ${name}]  # note`,
      `[default]`,
      `[ default ]`,
      `[sso-session ${name}]`,
      `[profile default]`,
      `[${name}]`,
      `[plugins]`,
      `[profile\t${name}] ; c`,
    ]);
  }
  if (r < 0.7) {
    const value = pick([
      name,
      "arn:aws:iam::1:role/R",
      "https://s.example/start#/",
      "3600",
      "1h",
      "k=v,k2=v2",
      "",
      "x # comment",
      "x;y",
      "a = b",
    ]);
    const key = pick(KEYS);
    return pick([`${key} = ${value}`, `${key}=${value}`, `  ${key} = ${value}`, `${key} =`]);
  }
  if (r < 0.85) return pick(["", "# comment", "; comment", "   ", "\t# indented comment"]);
  // The rare and the malformed: continuations, garbage, unusual whitespace and brackets.
  return pick([
    "  continued value",
    "oops",
    "= value",
    "[profile a",
    "[profile a] trailing",
    "[ ]",
    "\u00a0[profile a]",
    "\u00a0region = x",
    "region = x\ry",
    "key\u2028= x",
    "-dash = ok",
    "\vregion = x",
    'credential_process = """tool',
    '  --flag"""',
    'x"""',
    "region = `a",
    "b`",
    "credential_process = tool \\",
  ]);
}

function generate(rand: () => number): string {
  const count = Math.floor(rand() * 30);
  const lines: string[] = [];
  if (rand() < 0.8) lines.push(rand() < 0.5 ? "[default]" : "[profile a]");
  for (let i = 0; i < count; i++) lines.push(line(rand));
  const eol = rand() < 0.2 ? "\r\n" : "\n";
  return (rand() < 0.1 ? "\uFEFF" : "") + lines.join(eol) + (rand() < 0.5 ? eol : "");
}

/** Every answer of a ConfigFile that resolution, describe, list and add use. */
function answers(config: ConfigFile): unknown {
  const out: Record<string, unknown> = { profileNames: config.profileNames() };
  for (const name of NAMES) {
    const section = config.profileSection(name);
    const sso = config.ssoSessionSection(name);
    out[name] = {
      has: config.hasProfile(name),
      section,
      sso,
      line: config.lineOf?.(name === "default" ? "default" : `profile ${name}`),
      keyLines: Object.keys(section ?? {}).map((k) =>
        config.lineOf?.(name === "default" ? "default" : `profile ${name}`, k)
      ),
      ssoLines: Object.keys(sso ?? {}).map((k) => config.lineOf?.(`sso-session ${name}`, k)),
    };
  }
  return out;
}

function outcome<T>(fn: () => T): T | { error: string } {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    return { error: err.message };
  }
}

function resolved(config: ConfigFile, name: string): ProfileConfig | { error: string } {
  return outcome(() =>
    resolveProfile(config, name, { env: envFromObject({ AWS_REGION: "r" }), flags: {} })
  );
}

Deno.test("indexConfig answers exactly as parseConfig on 3,000 generated configs", () => {
  let fastPathCases = 0;
  for (let seed = 1; seed <= 3000; seed++) {
    const text = generate(prng(seed));
    const full = outcome(() => parseConfig(text, "/cfg"));
    const lazy = outcome(() => indexConfig(text, "/cfg"));
    const where = `seed ${seed}: ${JSON.stringify(text)}`;
    if ("error" in full) {
      assert.deepEqual(lazy, full, where);
      continue;
    }
    assert.ok(!("error" in lazy), where);
    fastPathCases++;
    // Resolution first (sections parsed on demand), then every other answer.
    for (const name of NAMES) {
      assert.deepStrictEqual(
        resolved(lazy as ConfigFile, name),
        resolved(full as ConfigFile, name),
        where,
      );
    }
    assert.deepStrictEqual(answers(lazy as ConfigFile), answers(full as ConfigFile), where);
  }
  // The generator must exercise both outcomes, or the comparison proves little.
  assert.ok(fastPathCases > 300, `only ${fastPathCases} configs parsed`);
});

/** An IAM Identity Center style config: `[profile acct-Role]` sections with sso keys. */
function ssoConfig(profiles: number): string {
  const parts = [
    "[default]\nregion = us-east-1\n",
    "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start#/\nsso_region = eu-west-1\n",
  ];
  for (let i = 0; i < profiles; i++) {
    const account = String(100000000000 + i);
    parts.push(
      `[profile acct${i}-${i % 3 ? "Admin" : "ReadOnly"}]\nsso_session = corp\n` +
        `sso_account_id = ${account}\nsso_role_name = ${i % 3 ? "Admin" : "ReadOnly"}\n` +
        `region = eu-west-${1 + (i % 3)}\n`,
    );
  }
  parts.push(
    "[profile base]\nmfa_serial = arn:aws:iam::1:mfa/u\n",
    "[profile target]\nsource_profile = base\nrole_arn = arn:aws:iam::1:role/R\ninclude_profile = acct7-Admin\n",
  );
  return parts.join("\n");
}

Deno.test("indexConfig on a 2,000-profile SSO config: same profiles and resolutions", () => {
  const text = ssoConfig(2000);
  const lazy = indexConfig(text, "/cfg");
  const full = parseConfig(text, "/cfg");
  assert.deepEqual(lazy.profileNames(), full.profileNames());
  assert.equal(lazy.profileNames().length, 2003);
  for (const name of ["target", "base", "acct0-ReadOnly", "acct1999-Admin", "default", "none"]) {
    assert.deepStrictEqual(resolved(lazy, name), resolved(full, name), name);
  }
  const target = resolved(lazy, "target") as ProfileConfig;
  assert.equal(target.ssoStartUrl, "https://corp.awsapps.com/start#/");
  assert.equal(target.sourceProfile?.name, "base");
  assert.deepEqual(target.origins.ssoAccountId, {
    kind: "section",
    section: "profile acct7-Admin",
    file: "/cfg",
    line: full.lineOf?.("profile acct7-Admin", "sso_account_id"),
    via: "include_profile",
  });
});

Deno.test("indexConfig line numbers hold whatever order sections are asked in", () => {
  const text = ssoConfig(2000);
  const full = parseConfig(text, "/cfg");
  const names = full.profileNames();
  for (const seed of [1, 2, 3]) {
    const random = prng(seed);
    const lazy = indexConfig(text, "/cfg");
    // Far down, then back up, then in random order: each answer is the full parse's.
    const order = [names[names.length - 1], names[0], names[1000], names[999]];
    for (let i = 0; i < 200; i++) order.push(names[Math.floor(random() * names.length)]);
    for (const name of order) {
      const header = name === "default" ? "default" : `profile ${name}`;
      assert.equal(lazy.lineOf?.(header), full.lineOf?.(header), `${seed} ${name}`);
      assert.equal(lazy.lineOf?.(header, "region"), full.lineOf?.(header, "region"), name);
    }
  }
});

Deno.test("a malformed line in a section the profile does not need fails the whole file", () => {
  // Deliberate: as the AWS SDK and aws-vault do, so a typo is reported wherever it is, on every
  // command, rather than only once someone uses that profile.
  const text = `${ssoConfig(50)}\n[profile unused]\nregion = x\noops\n`;
  const badLine = text.split("\n").indexOf("oops") + 1;
  for (const read of [indexConfig, parseConfig]) {
    assert.throws(
      () => read(text, "/cfg"),
      (err: unknown) =>
        err instanceof UserError &&
        err.message === `/cfg:${badLine}: expected "key = value" or "[section]"`,
    );
  }
});

Deno.test("a continuation line keeps its meaning: the file is then parsed whole", () => {
  const text = "[profile a]\ntransitive_session_tags = team\n  project\n[profile b]\nregion = x\n";
  const lazy = indexConfig(text, "/cfg");
  assert.deepEqual(lazy.profileSection("a"), { transitive_session_tags: "team\nproject" });
  assert.deepEqual(answers(lazy), answers(parseConfig(text, "/cfg")));
});

Deno.test("a multi-line value keeps its lines, even ones that look like headers or keys", () => {
  const text = [
    "[profile a]",
    'credential_process = """tool',
    "  [profile b]",
    "region = inside",
    '  --flag""" # after',
    "[profile b]",
    "region = x",
    "",
  ].join("\n");
  const lazy = indexConfig(text, "/cfg");
  assert.deepEqual(lazy.profileSection("a"), {
    credential_process: "tool\n  [profile b]\nregion = inside\n  --flag",
  });
  assert.deepEqual(lazy.profileSection("b"), { region: "x" });
  assert.deepEqual(answers(lazy), answers(parseConfig(text, "/cfg")));
});

Deno.test("loadConfig reads lazily by default and whole on request, with the same answers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, ssoConfig(20));
    const runtime = testRuntime({ env: { AWS_CONFIG_FILE: path } });
    const lazy = await loadConfig(runtime);
    const whole = await loadConfig(runtime, undefined, { whole: true });
    assert.deepStrictEqual(answers(lazy), answers(whole));
    assert.deepStrictEqual(resolved(lazy, "target"), resolved(whole, "target"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ignored sections are reported once each, lazily read or not", () => {
  const text = "[plugins]\nx = 1\n[profile default]\n[plugins]\n[profile a]\nregion = r\n";
  for (const read of [indexConfig, parseConfig]) {
    const ignored: string[] = [];
    read(text, "/cfg", { onIgnoredSection: (name) => ignored.push(name) });
    assert.deepEqual(ignored, ["plugins", "profile default"]);
  }
});
