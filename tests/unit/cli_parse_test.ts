/**
 * The parser's kingpin semantics, table-driven against the real command table: combined short
 * flags, `--flag=value` and `--flag value`, `--no-x`, repeatable flags, global flags anywhere,
 * `--`, exec's verbatim child arguments, typo suggestions, environment defaults (empty = unset,
 * booleans as Go's strconv.ParseBool), durations; and the table's own consistency.
 */
import assert from "node:assert/strict";
import type { CommandContext } from "../../lib/cli/global.ts";
import { runCli } from "../../lib/cli/mod.ts";
import { commandOf, editDistance, optionsOf, parseArgv, type Parsed } from "../../lib/cli/parse.ts";
import { arg, command, type CommandSpec, flag, parseBool, runs } from "../../lib/cli/spec.ts";
import { GLOBAL_FLAGS, ROOT } from "../../lib/cli/table.ts";
import { UsageError, UserError } from "../../lib/errors.ts";
import { testRuntime } from "../support/runtime.ts";

function parse(args: string[], env: Record<string, string> = {}): Parsed<CommandContext> {
  return parseArgv(ROOT, args, (name) => env[name]);
}

/** The selected command's options, its arguments and the global options. */
function outcome(args: string[], env: Record<string, string> = {}) {
  const parsed = parse(args, env);
  const cmd = commandOf(parsed);
  return {
    command: parsed.path.map((c) => c.name).slice(1).join(" "),
    options: optionsOf(parsed, cmd.flags),
    args: Object.fromEntries(parsed.args),
    globals: optionsOf(parsed, GLOBAL_FLAGS) as Record<string, unknown>,
  };
}

const H = 3_600_000;

Deno.test("kingpin semantics: what each command line parses into", () => {
  const cases: {
    argv: string[];
    env?: Record<string, string>;
    options?: Record<string, unknown>;
    args?: Record<string, unknown>;
    globals?: Record<string, unknown>;
  }[] = [
    // Combined short flags, the value of the last one from the next word or the same word.
    {
      argv: ["exec", "-nd", "2h", "p", "--", "cmd", "a"],
      options: { noSession: true, duration: 2 * H },
      args: { profile: "p", cmd: "cmd", args: ["a"] },
    },
    { argv: ["exec", "-nd2h", "p"], options: { noSession: true, duration: 2 * H } },
    { argv: ["export", "-t", "123456", "p"], options: { mfaToken: "123456" } },
    { argv: ["export", "-t123456", "p"], options: { mfaToken: "123456" } },
    // --flag=value and --flag value; a value may contain '='.
    { argv: ["export", "--duration=90m", "p"], options: { duration: 90 * 60_000 } },
    { argv: ["export", "--duration", "3600", "p"], options: { duration: H } },
    { argv: ["export", "--region=a=b", "p"], options: { region: "a=b" } },
    { argv: ["export", "--format", "json", "p"], options: { format: "json" } },
    { argv: ["export", "p"], options: { format: "env", noSession: false, duration: undefined } },
    // --no-x for booleans, --x=false too; the last word wins.
    { argv: ["add", "--no-add-config", "p"], options: { addConfig: false } },
    { argv: ["add", "--add-config=false", "p"], options: { addConfig: false } },
    { argv: ["add", "p"], options: { addConfig: true, env: false } },
    { argv: ["list", "--debug", "--no-debug"], globals: { debug: false } },
    { argv: ["list", "--debug=1"], globals: { debug: true } },
    // Global flags before or after the command and its arguments.
    { argv: ["--backend", "pass", "list"], globals: { backend: "pass" } },
    { argv: ["list", "--backend=pass"], globals: { backend: "pass" } },
    { argv: ["export", "p", "--prompt", "ykman"], globals: { prompt: "ykman" } },
    // `--` ends the flags.
    { argv: ["clear", "--", "--weird"], args: { profile: "--weird" } },
    // exec: from the command on, every word is the child's, flags and `--` included.
    {
      argv: ["exec", "p", "sh", "-c", "echo --debug", "--", "-n"],
      options: { noSession: false },
      args: { profile: "p", cmd: "sh", args: ["-c", "echo --debug", "--", "-n"] },
      globals: { debug: false },
    },
    { argv: ["exec", "p", "-n", "true"], options: { noSession: true }, args: { cmd: "true" } },
    // A lone '-' is an argument.
    { argv: ["exec", "p", "-"], args: { cmd: "-" } },
    // Environment defaults: set and not empty; the command line wins.
    { argv: ["list"], env: { AWS_VAULT_BACKEND: "" }, globals: { backend: undefined } },
    { argv: ["list"], env: { AWS_VAULT_BACKEND: "pass" }, globals: { backend: "pass" } },
    {
      argv: ["list", "--backend", "file"],
      env: { AWS_VAULT_BACKEND: "pass" },
      globals: { backend: "file" },
    },
    { argv: ["list"], env: { AWS_VAULT_FILE_DIR: "" }, globals: { fileDir: "~/.awsvault/keys/" } },
    { argv: ["list"], env: { AWS_VAULT_PROMPT: "" }, globals: { prompt: undefined } },
    {
      argv: ["exec", "p"],
      env: { AWS_VAULT_PROFILE_ENV: "false" },
      options: { profileEnv: false },
    },
    { argv: ["exec", "p"], env: { AWS_VAULT_PROFILE_ENV: "0" }, options: { profileEnv: false } },
    { argv: ["exec", "p"], env: { AWS_VAULT_PROFILE_ENV: "F" }, options: { profileEnv: false } },
    { argv: ["exec", "p"], env: { AWS_VAULT_PROFILE_ENV: "" }, options: { profileEnv: false } },
    { argv: ["exec", "p"], env: { AWS_VAULT_PROFILE_ENV: "True" }, options: { profileEnv: true } },
    { argv: ["exec", "p"], env: { AWS_VAULT_PROFILE_ENV: "1" }, options: { profileEnv: true } },
    {
      argv: ["exec", "p", "--no-profile-env"],
      env: { AWS_VAULT_PROFILE_ENV: "true" },
      options: { profileEnv: false },
    },
    { argv: ["export", "p"], env: { AWS_VAULT_STDOUT: "false" }, options: { stdout: false } },
    { argv: ["export", "p"], env: { AWS_VAULT_STDOUT: "t" }, options: { stdout: true } },
    { argv: ["export", "p"], env: { AWS_VAULT_DURATION: "90m" }, options: { duration: 5_400_000 } },
    { argv: ["export", "p"], env: { AWS_VAULT_DURATION: "" }, options: { duration: undefined } },
    {
      argv: ["export", "-d", "1h", "p"],
      env: { AWS_VAULT_DURATION: "90m" },
      options: { duration: H },
    },
    { argv: ["login", "-s"], env: {}, options: { stdout: true } },
    { argv: ["login", "-a", "--browser", "firefox {url}"], options: { autoLogout: true } },
    { argv: ["list"], env: { AWS_VAULT_OP_TIMEOUT: "1m" }, globals: { opTimeout: 60_000 } },
    { argv: ["list"], globals: { opTimeout: 15_000, keyctlScope: "user" } },
    // Aliases.
    { argv: ["ls", "--profiles"], options: { profiles: true } },
    { argv: ["server", "--stop"], options: { stop: true } },
    { argv: ["rotate", "-n", "p"], options: { noSession: true } },
  ];
  for (const c of cases) {
    const got = outcome(c.argv, c.env);
    const label = `${JSON.stringify(c.env ?? {})} ${c.argv.join(" ")}`;
    for (const [key, want] of Object.entries(c.options ?? {})) {
      assert.deepEqual(got.options[key], want, `${label}: option ${key}`);
    }
    for (const [key, want] of Object.entries(c.args ?? {})) {
      assert.deepEqual(got.args[key], want, `${label}: argument ${key}`);
    }
    for (const [key, want] of Object.entries(c.globals ?? {})) {
      assert.deepEqual(got.globals[key], want, `${label}: global ${key}`);
    }
  }
});

Deno.test("kingpin semantics: usage errors, one line each, naming what is wrong", () => {
  const cases: { argv: string[]; env?: Record<string, string>; error: RegExp }[] = [
    {
      argv: ["list", "--profils"],
      error: /unknown option '--profils', did you mean '--profiles'\?/,
    },
    { argv: ["exec", "--regoin", "x", "p"], error: /did you mean '--region'/ },
    { argv: ["lst"], error: /unknown command 'lst', did you mean 'list'\?/ },
    { argv: ["exprot", "p"], error: /did you mean 'export'/ },
    { argv: ["zzzzzzzz"], error: /^unknown command 'zzzzzzzz'$/ },
    { argv: ["list", "-x"], error: /unknown option '-x'/ },
    { argv: ["list", "---profiles"], error: /unknown option '---profiles'/ },
    { argv: ["export", "--no-region", "p"], error: /unknown option '--no-region'/ },
    { argv: ["list", "--debug=maybe"], error: /--debug: 'maybe' is not a boolean/ },
    { argv: ["list", "--no-debug=true"], error: /--no-debug takes no value/ },
    { argv: ["export", "p", "--format"], error: /expected a value for --format/ },
    { argv: ["export", "--region", "-n", "p"], error: /expected a value for --region/ },
    { argv: ["export", "-d"], error: /expected a value for -d/ },
    { argv: ["export", "--region", "a", "--region", "b", "p"], error: /cannot be repeated/ },
    { argv: ["export", "-d", "5x", "p"], error: /--duration: "5x" is not a duration/ },
    { argv: ["export", "-d", "-1h", "p"], error: /expected a value for -d/ },
    { argv: ["export", "-d", "1d", "p"], error: /"1d" is not a duration/ },
    { argv: ["export", "-d", "", "p"], error: /"" is not a duration/ },
    { argv: ["list", "extra"], error: /unexpected argument 'extra'/ },
    { argv: ["add"], error: /missing required argument 'profile'/ },
    { argv: ["completion"], error: /missing required argument 'shell'/ },
    {
      argv: ["completion", "tcsh"],
      error: /argument 'shell': 'tcsh' is not one of bash, zsh, fish/,
    },
    { argv: ["migrate-backend", "--to", "file"], error: /required flag --from not provided/ },
    { argv: ["migrate-backend", "--from=file", "--to=nope"], error: /--to: 'nope' is not one of/ },
    { argv: [], error: /no command given/ },
    { argv: ["--debug"], error: /no command given/ },
    // Environment values are checked like flags, naming the variable.
    {
      argv: ["list"],
      env: { AWS_VAULT_BACKEND: "nope" },
      error: /\$AWS_VAULT_BACKEND \(--backend\): 'nope'/,
    },
    {
      argv: ["exec", "p"],
      env: { AWS_VAULT_PROFILE_ENV: "yes" },
      error: /\$AWS_VAULT_PROFILE_ENV.*'yes' is not a boolean/,
    },
    { argv: ["export", "p"], env: { AWS_VAULT_STDOUT: "on" }, error: /\$AWS_VAULT_STDOUT/ },
    {
      argv: ["export", "p"],
      env: { AWS_VAULT_DURATION: "12" + "x" },
      error: /\$AWS_VAULT_DURATION.*"12x" is not a duration/,
    },
    { argv: ["list"], env: { AWS_VAULT_PROMPT: "pass" }, error: /mfa_process = pass otp/ },
    {
      argv: ["list"],
      env: { AWS_VAULT_KEYCTL_SCOPE: "global" },
      error: /\$AWS_VAULT_KEYCTL_SCOPE/,
    },
  ];
  for (const c of cases) {
    const label = `${JSON.stringify(c.env ?? {})} ${c.argv.join(" ")}`;
    assert.throws(() => parse(c.argv, c.env), (e: unknown) => {
      assert(e instanceof UsageError, `${label}: ${e}`);
      assert.equal(e.exitCode, 2);
      assert.doesNotMatch(e.message, /\n/, label);
      assert.match(e.message, c.error, label);
      return true;
    });
  }
});

Deno.test("Go's ParseBool: exactly its spellings", () => {
  for (const t of ["1", "t", "T", "TRUE", "true", "True"]) assert.equal(parseBool(t), true);
  for (const f of ["0", "f", "F", "FALSE", "false", "False"]) assert.equal(parseBool(f), false);
  for (const bad of ["", "yes", "no", "on", "tRUE", " true", "2"]) {
    assert.throws(() => parseBool(bad), /not a boolean/);
  }
});

Deno.test("repeatable flags, nested subcommands and their errors (a table of its own)", () => {
  const start = command({
    name: "start",
    help: "Start.",
    flags: { tag: flag.strings("tag", "A tag.", { short: "g", env: "TEST_TAGS" }) },
    args: { name: arg.optional("name", "Name.") },
  });
  const root: CommandSpec<string> = {
    name: "t",
    help: "Test.",
    flags: { verbose: flag.bool("verbose", "Verbose.", { short: "v" }) },
    args: {},
    subcommands: [{
      name: "agent",
      help: "Agent.",
      flags: {},
      args: {},
      subcommands: [
        runs(start, () => Promise.resolve(0)),
        runs(
          command({ name: "stop", help: "Stop.", flags: {}, args: {} }),
          () => Promise.resolve(0),
        ),
      ],
    }],
  };
  const env: Record<string, string> = {};
  const p = (argv: string[]) => parseArgv(root, argv, (n) => env[n]);
  const tags = (argv: string[]) => optionsOf(p(argv), start.flags).tag;
  assert.deepEqual(tags(["agent", "start", "--tag", "a", "-g", "b", "--tag=c", "-gd"]), [
    "a",
    "b",
    "c",
    "d",
  ]);
  assert.deepEqual(tags(["agent", "start"]), []);
  env.TEST_TAGS = "x\ny";
  assert.deepEqual(tags(["agent", "start"]), ["x", "y"], "a repeatable variable splits on lines");
  assert.deepEqual(tags(["agent", "start", "-g", "z"]), ["z"], "the command line wins");
  delete env.TEST_TAGS;
  const parsed = p(["-v", "agent", "start", "n1", "-v"]);
  assert.deepEqual(parsed.path.map((c) => c.name), ["t", "agent", "start"]);
  assert.equal(parsed.args.get("name"), "n1");
  assert.throws(() => p(["agent"]), /'agent' needs a subcommand: start, stop/);
  assert.throws(() => p(["agent", "strat"]), /unknown command 'strat', did you mean 'start'\?/);
  assert.throws(() => p(["agent", "stop", "--tag", "x"]), /unknown option '--tag'/);
});

Deno.test("the table is consistent: option keys, unique names in every scope, reference flags", () => {
  const camel = (name: string) => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const visit = (path: CommandSpec<CommandContext>[]) => {
    const cmd = path[path.length - 1];
    for (const [key, spec] of Object.entries(cmd.flags)) {
      assert.equal(key, camel(spec.name), `${cmd.name}: option key of --${spec.name}`);
    }
    const scope = path.flatMap((c) => Object.values(c.flags));
    const longs = scope.map((f) => f.name);
    const shorts = scope.flatMap((f) => f.short ? [f.short] : []);
    assert.deepEqual(longs.length, new Set(longs).size, `${cmd.name}: duplicate long flag`);
    assert.deepEqual(shorts.length, new Set(shorts).size, `${cmd.name}: duplicate short flag`);
    for (const sub of cmd.subcommands ?? []) visit([...path, sub]);
  };
  visit([ROOT]);

  // Every flag of aws-vault 99designs v7.2 and ByteNess v7.13, and the ones being built now.
  const want: Record<string, string[]> = {
    "": [
      "debug",
      "backend",
      "prompt",
      "keychain",
      "secret-service-collection",
      "pass-dir",
      "pass-cmd",
      "pass-prefix",
      "file-dir",
      "help",
      "help-long",
      "help-man",
      "completion-bash",
      "completion-script-bash",
      "completion-script-zsh",
      "version",
      "op-timeout",
      "op-vault-id",
      "op-item-title-prefix",
      "op-item-tag",
      "op-connect-host",
      "op-desktop-account-id",
      "proton-pass-share-id",
      "proton-pass-item-title-prefix",
      "proton-pass-api-base",
      "proton-pass-timeout",
      "biometrics",
    ],
    add: ["env", "add-config"],
    remove: ["force", "sessions-only"],
    list: ["profiles", "sessions", "credentials"],
    exec: [
      "duration",
      "no-session",
      "region",
      "mfa-token",
      "json",
      "server",
      "ec2-server",
      "ecs-server",
      "lazy",
      "stdout",
      "profile-env",
      "all-profiles",
      "use-device-code",
    ],
    export: [
      "duration",
      "no-session",
      "region",
      "mfa-token",
      "format",
      "stdout",
      "use-device-code",
    ],
    login: [
      "duration",
      "no-session",
      "mfa-token",
      "path",
      "region",
      "stdout",
      "auto-logout",
      "browser",
      "use-device-code",
    ],
    rotate: ["no-session"],
    proxy: ["stop"],
    "migrate-backend": ["from", "to", "profile", "dry-run", "overwrite", "delete-source"],
  };
  const shorts: Record<string, Record<string, string>> = {
    exec: { d: "duration", n: "no-session", t: "mfa-token", j: "json", s: "server" },
    export: { d: "duration", n: "no-session", t: "mfa-token" },
    login: { d: "duration", n: "no-session", t: "mfa-token", s: "stdout", a: "auto-logout" },
    remove: { f: "force", s: "sessions-only" },
    rotate: { n: "no-session" },
  };
  for (const [name, flags] of Object.entries(want)) {
    const cmd = name === "" ? ROOT : ROOT.subcommands!.find((c) => c.name === name)!;
    const have = Object.values(cmd.flags).map((f) => f.name);
    for (const f of flags) assert(have.includes(f), `${name || "global"} declares --${f}`);
    for (const [s, long] of Object.entries(shorts[name] ?? {})) {
      assert.equal(
        Object.values(cmd.flags).find((f) => f.short === s)?.name,
        long,
        `${name} -${s}`,
      );
    }
  }
  assert.deepEqual(ROOT.subcommands!.find((c) => c.name === "proxy")?.aliases, ["server"]);
  for (const c of ROOT.subcommands!) {
    assert(c.help.length > 0 && !c.help.includes("\n"), `${c.name} has a one-line help`);
  }
});

Deno.test("not-built flags: on the command line exit 1; from the environment only a debug note", async () => {
  for (
    const args of [
      ["--biometrics", "list"],
    ]
  ) {
    await assert.rejects(runCli(args, testRuntime()), (e: unknown) => {
      assert(e instanceof UserError && !(e instanceof UsageError), `${args.join(" ")}: ${e}`);
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /^'--[a-z0-9-]+' is not implemented yet/);
      return true;
    });
  }
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/config`, "[profile p]\n");
    const rt = testRuntime({
      env: { AWS_VAULT_BIOMETRICS: "true", AWS_CONFIG_FILE: `${dir}/config` },
    });
    assert.equal(await runCli(["list", "--profiles"], rt), 0);
    assert.equal(rt.out.join(""), "p\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // `--no-lazy` is the default, not a use of the feature.
  assert.equal(commandOf(parse(["exec", "--no-lazy", "p"])).name, "exec");
});

Deno.test("suggestions use the edit distance", () => {
  assert.equal(editDistance("list", "lst"), 1);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("strat", "start"), 1, "a swap of neighbours is one edit");
});

Deno.test("hostile words: escapes, newlines, NULs and huge words give one short, safe line", () => {
  const huge = "x".repeat(1_000_000);
  const cases: string[][] = [
    ["\x1b[31mred"],
    ["list", "--\x1b]0;title\x07"],
    ["list", "-\x1b"],
    ["exec\nrm"],
    ["list", "\0"],
    ["list", "--debug=\x1b[2J"],
    ["export", "--format", "json\r\nini", "p"],
    ["export", "-d", "1h\x00", "p"],
    [huge],
    ["list", `--${huge}`],
    ["export", "--format", huge, "p"],
    ["list", "-🦀"],
    ["lïst"],
  ];
  for (const argv of cases) {
    assert.throws(() => parse(argv), (e: unknown) => {
      assert(e instanceof UsageError, String(e));
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(e.message, /[\x00-\x1f\x7f]/, JSON.stringify(argv).slice(0, 80));
      assert(e.message.length < 300, `short: ${e.message.slice(0, 80)}`);
      return true;
    });
  }
  // Arbitrary bytes reach a child verbatim.
  const args = Object.fromEntries(parse(["exec", "p", "cat", "\x1b\n\0", huge]).args);
  assert.deepEqual(args.args, ["\x1b\n\0", huge]);
});
