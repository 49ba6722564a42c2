/** The command surface: flags, aliases, help, version and usage errors, run in process. */
import assert from "node:assert/strict";
import { runCli, VERSION } from "../../lib/cli/mod.ts";
import { commandOf, optionsOf, parseArgv, type Parsed } from "../../lib/cli/parse.ts";
import type { CommandContext } from "../../lib/cli/global.ts";
import { GLOBAL_FLAGS, ROOT } from "../../lib/cli/table.ts";
import { UsageError } from "../../lib/errors.ts";
import { testRuntime } from "../support/runtime.ts";

async function usageError(args: string[]): Promise<string> {
  let message = "";
  await assert.rejects(runCli(args, testRuntime()), (e: unknown) => {
    assert(e instanceof UsageError, `expected a usage error, got ${e}`);
    assert.deepEqual(e.exitCode, 2);
    message = e.message;
    return true;
  });
  return message;
}

Deno.test("--version, -v and the version command print the version", async () => {
  for (const args of [["--version"], ["-v"], ["version"]]) {
    const rt = testRuntime();
    assert.deepEqual(await runCli(args, rt), 0);
    assert.deepEqual(rt.out.join(""), `${VERSION}\n`);
  }
  assert.match(VERSION, /^\d+\.\d+\.\d+/);
});

Deno.test("help lists every command; help <command> and <command> --help show its flags", async () => {
  const rt = testRuntime();
  assert.deepEqual(await runCli(["--help"], rt), 0);
  const help = rt.out.join("");
  for (
    const cmd of [
      "add",
      "remove",
      "alias: rm",
      "list",
      "alias: ls",
      "exec",
      "export",
      "clear",
      "login",
      "rotate",
      "migrate-backend",
      "profile",
    ]
  ) {
    assert(help.includes(cmd), `--help mentions ${cmd}`);
  }
  assert(!help.includes("proxy"), "the hidden proxy command is not listed");
  for (const args of [["help", "exec"], ["exec", "--help"]]) {
    const r = testRuntime();
    assert.deepEqual(await runCli(args, r), 0);
    const text = r.out.join("");
    for (
      const flag of [
        "--duration",
        "--no-session",
        "--mfa-token",
        "--ecs-server",
        "--ec2-server",
        "--lazy",
        "--assume-role-ttl",
        "--session-ttl",
        "--backend",
      ]
    ) {
      assert(text.includes(flag), `${args.join(" ")} shows ${flag}`);
    }
  }
});

Deno.test("--help-long shows every visible command's help", async () => {
  const rt = testRuntime();
  assert.deepEqual(await runCli(["--help-long"], rt), 0);
  const text = rt.out.join("");
  for (
    const usage of [
      "add [<flags>] <profile>",
      "exec [<flags>] [<profile>] [<cmd>] [<args>...]",
      "remove [<flags>] <profile>",
      "login [<flags>] [<profile>]",
    ]
  ) {
    assert(text.includes(`\n  ${usage}\n`), usage);
  }
  // Each command's own flags are listed under it.
  assert.match(text, /\n {2}export \[<flags>\] \[<profile>\]\n[^]*--format=env/);
});

Deno.test("bad flag values are one-line usage errors naming the flag", async () => {
  assert.match(await usageError(["exec", "-d", "5x", "p"]), /--duration.*"5x" is not a duration/);
  assert.match(await usageError(["--backend", "nope", "list"]), /--backend.*nope/);
  assert.match(await usageError(["export", "--format", "xml", "p"]), /--format.*xml/);
  assert.match(await usageError(["--prompt", "pass", "list"]), /mfa_process = pass otp/);
  assert.match(await usageError(["list", "--bogus"]), /unknown option '--bogus'/);
  assert.match(await usageError(["bogus"]), /unknown command 'bogus'/);
  assert.match(await usageError(["add"]), /missing required argument 'profile'/);
  assert.match(await usageError(["migrate-backend", "--from", "file"]), /--to/);
});

/** Parses a command line against the real table. */
function parse(args: string[], env: Record<string, string> = {}): Parsed<CommandContext> {
  return parseArgv(ROOT, args, (name) => env[name]);
}

/** The options of the command a command line selects. */
function commandOptions(args: string[]): Record<string, unknown> {
  const parsed = parse(args);
  return optionsOf(parsed, commandOf(parsed).flags);
}

Deno.test("global flags work before and after the command name", () => {
  for (
    const args of [["--debug", "--backend", "file", "list"], ["list", "--debug", "--backend=file"]]
  ) {
    const globals = optionsOf(parse(args), GLOBAL_FLAGS);
    assert.deepEqual(globals.debug, true, args.join(" "));
    assert.deepEqual(globals.backend, "file", args.join(" "));
  }
});

Deno.test("older spellings and aliases are accepted", () => {
  assert.deepEqual(commandOptions(["rm", "work", "--sessions-only"]).sessionsOnly, true);
  assert.deepEqual(commandOptions(["exec", "work", "-s"]).server, true);
  const o = commandOptions(["exec", "work", "--assume-role-ttl=12h", "--session-ttl", "90m"]);
  assert.deepEqual([o.assumeRoleTtl, o.sessionTtl], [12 * 3_600_000, 90 * 60_000]);
  assert.deepEqual(
    commandOptions(["login", "work", "--federation-token-ttl", "3600"]).federationTokenTtl,
    3_600_000,
  );
  assert.deepEqual(commandOptions(["ls", "--profiles"]).profiles, true);
});

Deno.test("exec: everything from the command on goes to the child verbatim", () => {
  const cases: [string[], { profile?: string; cmd?: string; args: string[] }][] = [
    [["exec", "p", "aws", "s3", "ls", "--region", "x"], {
      profile: "p",
      cmd: "aws",
      args: ["s3", "ls", "--region", "x"],
    }],
    [["exec", "p", "--no-session", "--", "env"], { profile: "p", cmd: "env", args: [] }],
    [["exec", "-d", "2h", "p", "ls", "-la"], { profile: "p", cmd: "ls", args: ["-la"] }],
    [["--debug", "exec", "--region", "eu-west-1", "p", "-s"], { profile: "p", args: [] }],
    [["--backend", "file", "exec", "p", "env"], { profile: "p", cmd: "env", args: [] }],
    [["exec", "p"], { profile: "p", args: [] }],
    [["exec", "p", "sh", "-c", "--help"], { profile: "p", cmd: "sh", args: ["-c", "--help"] }],
    [["exec", "p", "--", "--debug", "-x"], { profile: "p", cmd: "--debug", args: ["-x"] }],
  ];
  for (const [argv, want] of cases) {
    const args = Object.fromEntries(parse(argv).args);
    assert.deepEqual(
      { profile: args.profile, cmd: args.cmd, args: args.args },
      { profile: want.profile, cmd: want.cmd, args: want.args },
      argv.join(" "),
    );
  }
});

Deno.test("only export and exec are watched for replay records", () => {
  const recording: string[] = [];
  const walk = (cmd: { name: string; records?: boolean; subcommands?: readonly unknown[] }) => {
    if (cmd.records) recording.push(cmd.name);
    for (const sub of cmd.subcommands ?? []) walk(sub as typeof cmd);
  };
  walk(ROOT);
  assert.deepEqual(recording.sort(), ["exec", "export"]);
});

Deno.test("no command shows the usage on stderr; a wrong flag without a command is one line", async () => {
  for (const args of [[], ["--debug"], ["--backend=file"]]) {
    const rt = testRuntime();
    await assert.rejects(runCli(args, rt), UsageError, "no command given (try --help)");
    assert.match(rt.err.join(""), /^usage: aws-vault \[<flags>\] <command>/, args.join(" "));
  }
  for (
    const [args, message] of [
      [["--bogus"], "unknown option '--bogus'"],
      [["-x"], "unknown option '-x'"],
      [["--backend=nosuch"], "--backend: 'nosuch' is not one of"],
    ] as const
  ) {
    const rt = testRuntime();
    await assert.rejects(runCli([...args], rt), UsageError, message);
    assert.deepEqual(rt.err, [], args.join(" "));
  }
});
