/**
 * Shell completion from the command table: kingpin's `--completion-bash` protocol in process
 * (commands, flags, flag values, profile names from the config, never the keyring), and the
 * scripts of `aws-vault completion bash|zsh|fish` sourced in the real shells, calling a real
 * aws-vault on PATH. Scripts written for kingpin's protocol (finished words only, unquoted
 * words) are checked too.
 */
import assert from "node:assert/strict";
import { runCli } from "../../lib/cli/mod.ts";
import { cliCommand, DENO_DIR } from "../support/cli.ts";
import { commandPeer, ignoreWithout, requirePeers } from "../support/peers.ts";
import { testRuntime } from "../support/runtime.ts";

const CONFIG = `[default]
region = us-east-1

[profile work]
region = eu-west-1

[profile prod-admin]
source_profile = work

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
`;

const PROFILES = ["default", "work", "prod-admin"];
const COMMANDS = [
  "help",
  "version",
  "add",
  "remove",
  "list",
  "profile",
  "rotate",
  "exec",
  "export",
  "clear",
  "login",
  "migrate-backend",
  "agent",
  "completion",
];
const BACKENDS = ["keychain", "secret-service", "kwallet", "keyctl", "pass", "passage", "file"];

async function withConfig<T>(fn: (dir: string, env: Record<string, string>) => Promise<T>) {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-completion-" });
  try {
    await Deno.writeTextFile(`${dir}/config`, CONFIG);
    // A keyring that must never be touched: a file backend whose directory is a file.
    await Deno.writeTextFile(`${dir}/not-a-dir`, "");
    const env = {
      AWS_CONFIG_FILE: `${dir}/config`,
      AWS_VAULT_BACKEND: "file",
      AWS_VAULT_FILE_DIR: `${dir}/not-a-dir`,
      HOME: dir,
    };
    return await fn(dir, env);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function complete(words: string[], env: Record<string, string>): Promise<string[]> {
  const rt = testRuntime({ env });
  assert.equal(await runCli(["--completion-bash", ...words], rt), 0);
  assert.deepEqual(rt.prompts, [], "completion never prompts");
  return rt.out.join("").split("\n").filter((l) => l !== "");
}

Deno.test("--completion-bash: commands, flags, values and profiles for each position", async () => {
  await withConfig(async (_dir, env) => {
    const cases: [string[], string[] | ((got: string[]) => void)][] = [
      [[""], COMMANDS],
      [["ex"], ["exec", "export"]],
      [["exec", ""], PROFILES],
      [["exec", "w"], ["work"]],
      [["export", "--format", ""], ["env", "export-env", "json", "ini", "fish", "powershell"]],
      [["export", "--format=j"], ["--format=json"]],
      [["--backend", "=", "fi"], ["file"]], // bash splits on '='
      [["--prompt", "y"], ["ykman"]],
      [["completion", ""], ["bash", "zsh", "fish"]],
      [["agent", ""], ["start", "stop", "status", "lock"]],
      [["migrate-backend", "--profile", ""], PROFILES],
      [["remove", "prod"], ["prod-admin"]],
      [["list", "--prof"], ["--profiles"]],
      [["exec", "--d"], ["--duration", "--debug"]],
      [["exec", "work", ""], []], // the child command: left to the shell
      [["exec", "work", "--", ""], []],
      [["nope", ""], COMMANDS], // an unknown word completes from where parsing stopped
      [["exec", "-"], (got) => {
        for (const f of ["--duration", "--no-session", "--backend", "--ecs-server"]) {
          assert(got.includes(f), f);
        }
        for (const hidden of ["--json", "--completion-bash", "--op-connect-host"]) {
          assert(!got.includes(hidden), hidden);
        }
      }],
      // Finished words only (aws-vault's fish script): what comes after the last word.
      [["exec"], PROFILES],
      [["--backend"], (got) => assert.deepEqual(got.slice(0, 2), ["keychain", "secret-service"])],
      [["exec", "work"], ["work"]],
    ];
    for (const [words, want] of cases) {
      const got = await complete(words, env);
      if (typeof want === "function") want(got);
      else assert.deepEqual(got, want, words.join(" "));
    }
  });
});

Deno.test("--completion-bash: a broken or missing config completes no profiles, without an error", async () => {
  await withConfig(async (dir, env) => {
    await Deno.writeTextFile(`${dir}/config`, "[profile broken\nnot ini\n");
    assert.deepEqual(await complete(["exec", ""], env), []);
    assert.deepEqual(
      await complete(["exec", ""], { ...env, AWS_CONFIG_FILE: `${dir}/none/x` }),
      [],
    );
    assert.deepEqual(await complete(["ex"], env), ["exec", "export"]);
  });
});

const BASH = commandPeer("bash", "bash", ["--version"]);
const ZSH = commandPeer("zsh", "zsh", ["--version"]);
const FISH = commandPeer("fish", "fish", ["--version"]);
const [noBash, noZsh, noFish] = [
  await ignoreWithout(BASH),
  await ignoreWithout(ZSH),
  await ignoreWithout(FISH),
];

/** An `aws-vault` on PATH that runs this checkout. */
async function installWrapper(dir: string): Promise<string> {
  await Deno.mkdir(`${dir}/bin`);
  const quoted = cliCommand().map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" ");
  await Deno.writeTextFile(`${dir}/bin/aws-vault`, `#!/bin/sh\nexec ${quoted} "$@"\n`, {
    mode: 0o755,
  });
  return `${dir}/bin:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`;
}

async function shell(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<string[]> {
  const out = await new Deno.Command(cmd, {
    args,
    env: { ...env, DENO_DIR, NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  assert(out.success, `${cmd} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]);
}

/** What the bash function completes for `line` (words as COMP_WORDS, the last one current). */
function bashProgram(setup: string, fn: string, words: string[]): string {
  const array = words.map((w) => `'${w}'`).join(" ");
  return `${setup}\nCOMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}\n${fn}\n` +
    `printf '%s\\n' "\${COMPREPLY[@]}"`;
}

Deno.test({
  name: "completion bash: the script, sourced in real bash, completes from the table",
  ignore: noBash,
  fn: async () => {
    await requirePeers(BASH);
    await withConfig(async (dir, env) => {
      const PATH = await installWrapper(dir);
      const setup =
        "source <(aws-vault completion bash)\ncomplete -p aws-vault >/dev/null || exit 9";
      const run = (words: string[]) =>
        shell("bash", [
          "--norc",
          "--noprofile",
          "-c",
          bashProgram(setup, "_aws_vault_complete", words),
        ], {
          ...env,
          PATH,
        });
      assert.deepEqual(await run(["aws-vault", "ex"]), ["exec", "export"]);
      assert.deepEqual(await run(["aws-vault", "exec", ""]), PROFILES);
      assert.deepEqual(await run(["aws-vault", "exec", "--backend", "pa"]), ["pass", "passage"]);
      assert.deepEqual(await run(["aws-vault", "--backend", "=", "fi"]), ["file"]);
      assert.deepEqual(await run(["aws-vault", "export", "--format", "e"]), ["env", "export-env"]);
      // --completion-script-bash prints the same script.
      const rt = testRuntime();
      await runCli(["--completion-script-bash"], rt);
      const viaCommand = testRuntime();
      await runCli(["completion", "bash"], viaCommand);
      assert.equal(rt.out.join(""), viaCommand.out.join(""));

      // A script written for kingpin: unquoted words, so an empty current word is dropped.
      const kingpin = `_kp() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local opts=$( \${COMP_WORDS[0]} --completion-bash \${COMP_WORDS[@]:1:$COMP_CWORD} )
  COMPREPLY=( $(compgen -W "\${opts}" -- \${cur}) )
}
complete -F _kp -o default aws-vault`;
      const legacy = (words: string[]) =>
        shell("bash", ["--norc", "--noprofile", "-c", bashProgram(kingpin, "_kp", words)], {
          ...env,
          PATH,
        });
      assert.deepEqual(await legacy(["aws-vault", "exec", ""]), PROFILES);
      assert.deepEqual(await legacy(["aws-vault", "exec", "wo"]), ["work"]);
      assert.deepEqual(await legacy(["aws-vault", "l"]), ["list", "login"]);
    });
  },
});

Deno.test({
  name: "completion zsh: the script, sourced in real zsh, completes from the table",
  ignore: noZsh,
  fn: async () => {
    await requirePeers(ZSH);
    await withConfig(async (dir, env) => {
      const PATH = await installWrapper(dir);
      // compadd exists only inside a completion widget: a function stands in and prints.
      const run = (words: string[]) =>
        shell("zsh", [
          "-f",
          "-c",
          `compdef() { print -r -- "compdef $*" >&2 }
compadd() { while [[ $1 == -* && $1 != -- ]]; do shift; done; [[ $1 == -- ]] && shift; print -l -- "$@" }
_files() { print FILES }
source <(aws-vault completion zsh)
words=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}
_aws_vault_complete`,
        ], { ...env, PATH });
      assert.deepEqual(await run(["aws-vault", "exec", ""]), PROFILES);
      assert.deepEqual((await run(["aws-vault", ""])).sort(), [...COMMANDS].sort());
      assert.deepEqual(
        await run(["aws-vault", "--backend", ""]).then((r) => r.slice(0, 7)),
        BACKENDS,
      );
      assert.deepEqual(await run(["aws-vault", "exec", "work", ""]), ["FILES"]);
    });
  },
});

Deno.test({
  name: "completion fish: the script, sourced in real fish, completes from the table",
  ignore: noFish,
  fn: async () => {
    await requirePeers(FISH);
    await withConfig(async (dir, env) => {
      const PATH = await installWrapper(dir);
      const run = (line: string, script = "aws-vault completion fish | source") =>
        shell("fish", ["--no-config", "-c", `${script}\ncomplete -C '${line}'`], {
          ...env,
          PATH,
          HOME: dir,
        });
      assert.deepEqual((await run("aws-vault exec ")).sort(), [...PROFILES].sort());
      assert.deepEqual((await run("aws-vault ex")).sort(), ["exec", "export"]);
      assert.deepEqual((await run("aws-vault --backend pa")).sort(), ["pass", "passage"]);
      assert.deepEqual((await run("aws-vault completion ")).sort(), ["bash", "fish", "zsh"]);
      // A fish script written for kingpin: finished words only.
      const kingpin = `function __kp
  set -l parts (commandline -opc)
  set -e parts[1]
  aws-vault --completion-bash $parts
end
complete -c aws-vault -f -a '(__kp)'`;
      assert.deepEqual((await run("aws-vault exec ", kingpin)).sort(), [...PROFILES].sort());
      assert.deepEqual((await run("aws-vault export --format ", kingpin)).sort(), [
        "env",
        "export-env",
        "fish",
        "ini",
        "json",
        "powershell",
      ]);
    });
  },
});
