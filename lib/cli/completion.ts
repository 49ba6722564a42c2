/**
 * Shell completion from the command table. `--completion-bash <words...>` is kingpin's protocol
 * (the last word is the one being completed; one candidate per line, the shell filters them), so
 * the bash, zsh and fish scripts aws-vault users already have keep working. `completion
 * bash|zsh|fish` prints scripts that use the same protocol. Profile names come from the config
 * file; the keyring is never opened.
 */
import { loadConfig } from "../config/mod.ts";
import type { Runtime } from "../runtime.ts";
import type { CommandContext } from "./global.ts";
import { commandOf, flagsInScope, parsePartial } from "./parse.ts";
import type { Completion, FlagSpec } from "./spec.ts";
import { type COMPLETION_SHELLS, PROGRAM, ROOT } from "./table.ts";

/** `completion <shell>`: prints the script. */
export function completionCommand(
  ctx: CommandContext,
  shell: typeof COMPLETION_SHELLS[number],
): Promise<number> {
  ctx.runtime.stdout(completionScript(shell));
  return Promise.resolve(0);
}

/** The candidates for the last of `words` (the words after the program name), one per line. */
export async function completeWords(words: string[], runtime: Runtime): Promise<string> {
  const cur = words.length > 0 ? words[words.length - 1] : "";
  // What can the last word become?
  let candidates = (await candidatesFor(words, runtime)).filter((c) => c.startsWith(cur));
  if (cur !== "" && candidates.includes(cur)) {
    // A finished word: scripts that pass only finished words (aws-vault's fish script, bash
    // scripts that drop an empty current word) ask what comes next, as kingpin reads them.
    const next = await candidatesFor([...words, ""], runtime);
    if (next.length > 0) candidates = [...candidates.filter((c) => c !== cur), ...next];
  }
  return [...new Set(candidates)].map((c) => `${c}\n`).join("");
}

async function candidatesFor(words: string[], runtime: Runtime): Promise<string[]> {
  const cur = words.length > 0 ? words[words.length - 1] : "";
  let prev = words.length > 1 ? words[words.length - 2] : "";
  const env = (name: string) => runtime.env.get(name);
  const before = words.slice(0, -1);
  const { parsed } = parsePartial(ROOT, before, env);
  if (before.includes("--")) return []; // the rest is exec's child command line
  const scope = flagsInScope(parsed.path);
  // bash splits `--backend=fi` into `--backend`, `=`, `fi`.
  if (prev === "=" && words.length > 2) prev = words[words.length - 3];
  const valueFlag = flagNamed(scope, prev);
  if (valueFlag && !valueFlag.boolean && !cur.startsWith("-")) {
    return await expand(valueFlag.complete, runtime);
  }
  if (cur.startsWith("-")) {
    const inline = cur.match(/^--([^=]+)=(.*)$/);
    if (inline) {
      const spec = flagNamed(scope, `--${inline[1]}`);
      if (!spec || spec.boolean) return [];
      return (await expand(spec.complete, runtime)).map((v) => `--${inline[1]}=${v}`);
    }
    return scope.filter((f) => !f.hidden).map((f) => `--${f.name}`);
  }
  const cmd = commandOf(parsed);
  if (cmd.subcommands?.length) {
    return cmd.subcommands.filter((c) => !c.hidden).map((c) => c.name);
  }
  // The argument being typed: the first one not yet given (kingpin counts non-empty values).
  const args = Object.values(cmd.args);
  const given = args.filter((a) => {
    const v = parsed.args.get(a.name);
    return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== "";
  }).length;
  const target = args[given];
  if (!target || target.rest || target.verbatim) return [];
  return await expand(target.complete, runtime);
}

function flagNamed(scope: FlagSpec<unknown>[], word: string): FlagSpec<unknown> | undefined {
  if (word.startsWith("--")) return scope.find((f) => f.name === word.slice(2));
  if (/^-[^-]$/.test(word)) return scope.find((f) => f.short === word[1]);
  return undefined;
}

async function expand(completion: Completion | undefined, runtime: Runtime): Promise<string[]> {
  if (completion === undefined) return [];
  if (completion !== "profile") return [...completion];
  try {
    return (await loadConfig(runtime)).profileNames();
  } catch {
    return []; // a broken config completes nothing; the command itself reports it
  }
}

/** A completion script for `shell` that asks `aws-vault --completion-bash`. */
export function completionScript(shell: "bash" | "zsh" | "fish"): string {
  const fn = `_${PROGRAM.replaceAll("-", "_")}_complete`;
  if (shell === "bash") {
    return `# bash completion for ${PROGRAM}: eval "$(${PROGRAM} completion bash)"
${fn}() {
    local cur opts
    COMPREPLY=()
    cur="\${COMP_WORDS[COMP_CWORD]}"
    opts=$("\${COMP_WORDS[0]}" --completion-bash "\${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null)
    local IFS=$'\\n'
    COMPREPLY=($(compgen -W "\${opts}" -- "\${cur}"))
    return 0
}
complete -F ${fn} -o default ${PROGRAM}
`;
  }
  if (shell === "zsh") {
    return `#compdef ${PROGRAM}
# zsh completion for ${PROGRAM}: eval "$(${PROGRAM} completion zsh)"
${fn}() {
    local -a opts
    opts=("\${(@f)$("\${words[1]}" --completion-bash "\${(@)words[2,$CURRENT]}" 2>/dev/null)}")
    opts=("\${(@)opts:#}")
    (( \${#opts} )) || { _files; return; }
    compadd -Q -- "\${(@)opts}"
}
compdef ${fn} ${PROGRAM}
`;
  }
  return `# fish completion for ${PROGRAM}: ${PROGRAM} completion fish | source
function ${fn}
    set -l tokens (commandline -opc)
    set -l program $tokens[1]
    set -e tokens[1]
    set -l current (commandline -ct)
    $program --completion-bash $tokens "$current" 2>/dev/null
end
complete -c ${PROGRAM} -f -n 'not contains -- -- (commandline -opc)' -a '(${fn})'
`;
}
