/** The command surface: flags, aliases, help, version and usage errors, run in process. */
import assert from "node:assert/strict";
import { buildProgram, mergedOptions, runCli, splitExecArgs, VERSION } from "../../lib/cli/mod.ts";
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
  const project = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION, project.version);
  assert.match(VERSION, /^\d+\.\d+\.\d+/);
});

Deno.test("help lists every command; help <command> and <command> --help show its flags", async () => {
  const rt = testRuntime();
  assert.deepEqual(await runCli(["--help"], rt), 0);
  const help = rt.out.join("");
  for (
    const cmd of [
      "add",
      "remove|rm",
      "list|ls",
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
  for (const usage of ["aws-vault add", "aws-vault exec", "aws-vault remove", "aws-vault login"]) {
    assert(text.includes(`Usage: ${usage}`), usage);
  }
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

Deno.test("global flags work before and after the command name", () => {
  for (
    const args of [["--debug", "--backend", "file", "list"], ["list", "--debug", "--backend=file"]]
  ) {
    const program = buildProgram(testRuntime(), () => {});
    let seen: Record<string, unknown> = {};
    const list = program.commands.find((c) => c.name() === "list")!;
    list.action((_o, cmd) => {
      seen = mergedOptions(cmd);
    });
    program.parse(args, { from: "user" });
    assert.deepEqual(seen.debug, true, args.join(" "));
    assert.deepEqual(seen.backend, "file", args.join(" "));
  }
});

Deno.test("older spellings and aliases are accepted", () => {
  const program = buildProgram(testRuntime(), () => {});
  const seen: Record<string, unknown>[] = [];
  for (const c of program.commands) {
    c.action((...a) => void seen.push((a[a.length - 1] as typeof c).opts()));
  }
  program.parse(["rm", "work", "--sessions-only"], { from: "user" });
  assert.deepEqual(seen.pop()?.sessionsOnly, true);
  program.parse(["exec", "work", "-s"], { from: "user" });
  assert.deepEqual(seen.pop()?.server, true);
  program.parse(["exec", "work", "--assume-role-ttl=12h", "--session-ttl", "90m"], {
    from: "user",
  });
  const o = seen.pop()!;
  assert.deepEqual([o.assumeRoleTtl, o.sessionTtl], [12 * 3_600_000, 90 * 60_000]);
  program.parse(["login", "work", "--federation-token-ttl", "3600"], { from: "user" });
  assert.deepEqual(seen.pop()?.federationTokenTtl, 3_600_000);
  program.parse(["ls", "--profiles"], { from: "user" });
  assert.deepEqual(seen.pop()?.profiles, true);
});

Deno.test("exec: everything from the command on goes to the child verbatim", () => {
  const program = buildProgram(testRuntime(), () => {});
  const cases: [string[], string[]][] = [
    [["exec", "p", "aws", "s3", "ls", "--region", "x"], [
      "exec",
      "p",
      "--",
      "aws",
      "s3",
      "ls",
      "--region",
      "x",
    ]],
    [["exec", "p", "--no-session", "--", "env"], ["exec", "p", "--no-session", "--", "env"]],
    [["exec", "-d", "2h", "p", "ls", "-la"], ["exec", "-d", "2h", "p", "--", "ls", "-la"]],
    [["--debug", "exec", "--region", "eu-west-1", "p", "-s"], [
      "--debug",
      "exec",
      "--region",
      "eu-west-1",
      "p",
      "-s",
    ]],
    [["--backend", "file", "exec", "p", "env"], ["--backend", "file", "exec", "p", "--", "env"]],
    [["exec", "p"], ["exec", "p"]],
    [["list"], ["list"]],
  ];
  for (const [argv, want] of cases) {
    assert.deepEqual(splitExecArgs(program, argv), want, argv.join(" "));
  }
});

Deno.test("a command that has not landed says so and exits 1, not the usage code 2", async () => {
  for (const args of [["proxy"], ["exec", "--server", "p"]]) {
    const rt = testRuntime();
    await assert.rejects(
      runCli(args, rt),
      (e) =>
        e instanceof Error && /not implemented/.test(e.message) &&
        (e as UsageError).exitCode === 1,
    );
  }
});
