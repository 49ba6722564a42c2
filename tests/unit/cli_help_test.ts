/**
 * Help, long help and man page, generated from the command table: kingpin's layout, every
 * visible command and flag, not-built marks, unservable choices, and a man page that groff
 * renders without warnings.
 */
import assert from "node:assert/strict";
import { runCli } from "../../lib/cli/mod.ts";
import type { FlagSpec } from "../../lib/cli/spec.ts";
import { ROOT } from "../../lib/cli/table.ts";
import { UsageError } from "../../lib/errors.ts";
import { commandPeer, ignoreWithout, requirePeers } from "../support/peers.ts";
import { testRuntime } from "../support/runtime.ts";

async function output(args: string[]): Promise<string> {
  const rt = testRuntime();
  assert.equal(await runCli(args, rt), 0, args.join(" "));
  return rt.out.join("");
}

const visible = ROOT.subcommands!.filter((c) => !c.hidden);

Deno.test("--help: kingpin's layout, every visible command, no hidden one", async () => {
  const text = await output(["--help"]);
  assert.match(text, /^usage: aws-vault \[<flags>\] <command> \[<args> \.\.\.\]\n\nA vault for/);
  assert.match(text, /\n\nFlags:\n {6}--help {2,}Show context-sensitive help/);
  assert.match(text, /\n\nCommands:\n {2}help \[<command>\.\.\.\]\n {4}Show help\.\n/);
  for (const c of visible) assert.match(text, new RegExp(`\\n  ${c.name}( |\\n)`), c.name);
  assert(!text.includes("proxy"), "the hidden proxy command is not listed");
  for (const hidden of ["--completion-bash", "--help-man", "--help-long", "--op-connect-host"]) {
    assert(!new RegExp(`^ {2,6}${hidden}`, "m").test(text), `${hidden} is hidden`);
  }
  // Lines fit 80 columns unless a single word is longer.
  for (const line of text.split("\n")) {
    assert(line.length <= 80 || !line.trim().includes(" "), `too long: ${line}`);
  }
});

Deno.test("help <cmd>, <cmd> --help and --help after arguments show the same command help", async () => {
  const want = await output(["help", "export"]);
  assert.match(want, /^usage: aws-vault export \[<flags>\] \[<profile>\]\n/);
  assert.match(want, /\n\nArgs:\n {2}\[<profile>\] {2}Name of the profile/);
  assert.match(
    want.replace(/\s+/g, " "),
    /--format=env Format to output credentials\. \[env export-env json ini fish powershell\]/,
  );
  for (const args of [["export", "--help"], ["export", "p", "--help"], ["--help", "export"]]) {
    assert.equal(await output(args), want, args.join(" "));
  }
  // --help wins over what is wrong elsewhere on the line.
  assert.equal(await output(["export", "--bogus", "--help"]), want);
  // Aliases select the same help.
  assert.equal(await output(["help", "ls"]), await output(["list", "--help"]));
  await assert.rejects(runCli(["help", "nope"], testRuntime()), UsageError);
});

Deno.test("help marks what is not built and the choices this build cannot serve", async () => {
  const exec = await output(["help", "exec"]);
  // The credential servers are built: listed, not marked.
  for (const flag of ["--ecs-server", "--ec2-server", "--lazy", "--all-profiles", "-s, --server"]) {
    const line = exec.split("\n").findIndex((l) => l.includes(flag));
    assert(line >= 0, flag);
    assert.doesNotMatch(exec.split("\n")[line], /not built yet/, flag);
  }
  assert.match(
    await output(["--help"]),
    /login \[<flags>\] \[<profile>\]\n {4}Generate a login link for the AWS Console\.\n/,
  );
  const backend = (await output(["--help"])).replace(/\s+/g, " ");
  assert.match(
    backend,
    /--backend=BACKEND Secret backend to use\. \[keychain secret-service kwallet keyctl pass passage file op; accepted, not in this build: wincred/,
  );
  assert.match(
    backend,
    /--kwallet-folder="aws-vault" Folder of the "aws-vault" KDE wallet for the kwallet backend\. \(\$AWS_VAULT_KWALLET_FOLDER\)/,
  );
  assert.match(
    backend,
    /--prompt=PROMPT Prompt driver to use\. \[terminal kdialog osascript ykman zenity; accepted, not in this build: wincredui\]/,
  );
  assert.match(backend, /\(\$AWS_VAULT_BACKEND\)/);
  assert.match(await output(["help", "add"]), /--\[no-\]add-config/);
});

Deno.test("--help-long lists every visible command with its visible flags", async () => {
  const text = await output(["--help-long"]);
  const flagsOf = (f: FlagSpec<unknown>) => !f.hidden;
  for (const c of visible) {
    const at = text.indexOf(`\n  ${c.name}`);
    assert(at >= 0, c.name);
    const next = text.indexOf("\n\n", at + 1);
    const block = text.slice(at, next < 0 ? undefined : next);
    for (const f of Object.values(c.flags).filter(flagsOf)) {
      assert(
        block.includes(`--${f.name}`) || block.includes(`--[no-]${f.name}`),
        `${c.name} --${f.name}`,
      );
    }
  }
});

const GROFF = commandPeer("groff", "groff", ["--version"]);
const noGroff = await ignoreWithout(GROFF);

Deno.test("--help-man: a man page with every visible command and flag", async () => {
  const page = await output(["--help-man"]);
  assert.match(page, /^\.TH AWS\\-VAULT 1 /);
  for (const section of ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "ENVIRONMENT"]) {
    assert.match(page, new RegExp(`^\\.SH ${section}$`, "m"), section);
  }
  for (const c of visible) {
    assert.match(page, new RegExp(`^\\.SS "${c.name.replaceAll("-", "\\\\-")}`, "m"), c.name);
  }
  assert.match(page, /^\.B AWS_VAULT_BACKEND$/m);
  // No line may start with a roff control character by accident.
  for (const line of page.split("\n")) {
    assert(!/^['.](?!TH |SH |SS |TP$|B |PP$)/.test(line), `stray control line: ${line}`);
  }
});

Deno.test({
  name: "--help-man: groff renders the man page without warnings",
  ignore: noGroff,
  fn: async () => {
    await requirePeers(GROFF);
    const page = await output(["--help-man"]);
    const groff = new Deno.Command("groff", {
      // grotty -c -b -o -u: plain text, no bold or underline by overstriking.
      args: ["-man", "-Tutf8", "-ww", "-P-cbou"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = groff.stdin.getWriter();
    await w.write(new TextEncoder().encode(page));
    await w.close();
    const out = await groff.output();
    const dec = new TextDecoder();
    assert.equal(dec.decode(out.stderr), "", "groff warnings");
    assert(out.success);
    const rendered = dec.decode(out.stdout).replace(/\u2010\n\s*/g, "")
      .replace(/\s+/g, " ");
    assert.match(rendered, /aws-vault - A vault for securely storing/);
    assert.match(rendered, /--backend=BACKEND/);
    assert.match(rendered, /migrate-backend --from=BACKEND --to=BACKEND/);
  },
});
