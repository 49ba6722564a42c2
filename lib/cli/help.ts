/**
 * Help and man page from the command table, in kingpin's layout (what aws-vault prints):
 * `--help` and `help <command>` (context-sensitive), `--help-long` (every command with its
 * flags) and `--help-man` (roff). Flags and commands not built yet say so; choices this build
 * cannot serve are listed apart.
 */
import { formatDuration } from "../duration.ts";
import { UsageError } from "../errors.ts";
import type { CommandContext } from "./global.ts";
import { findSubcommand, suggestion } from "./parse.ts";
import type { ArgSpec, CommandSpec, FlagSpec } from "./spec.ts";
import { PROGRAM, ROOT, VERSION } from "./table.ts";

type Command = CommandSpec<CommandContext>;
type AnyFlag = FlagSpec<unknown>;

const WIDTH = 80;
const NOT_BUILT = "(not built yet)";

/** `help [<command>...]`: help of the named command. */
export function helpCommand(ctx: CommandContext, names: string[]): Promise<number> {
  const path: Command[] = [ROOT];
  for (const name of names) {
    const parent = path[path.length - 1];
    const sub = findSubcommand(parent, name);
    if (!sub) {
      const known = (parent.subcommands ?? []).filter((c) => !c.hidden).map((c) => c.name);
      throw new UsageError(`unknown command '${name}'${suggestion(name, known, "")}`);
    }
    path.push(sub);
  }
  ctx.runtime.stdout(helpText(path));
  return Promise.resolve(0);
}

/** Context-sensitive help: the program's, or that of the last command of `path`. */
export function helpText(path: Command[]): string {
  const cmd = path[path.length - 1];
  const name = path.map((c) => c.name).join(" ");
  const hasSubcommands = (cmd.subcommands?.length ?? 0) > 0;
  const out: string[] = [];
  const more = hasSubcommands ? " <command> [<args> ...]" : "";
  out.push(`usage: ${name}${commandSummary(cmd)}${more}\n`);
  out.push(`\n${wrap(helpLine(cmd), WIDTH)}\n\n`);
  const flags = path.flatMap((c) => Object.values(c.flags)).filter((f) => !f.hidden);
  if (flags.length > 0) out.push(`Flags:\n${twoColumns(flagRows(flags), 2)}\n`);
  const args = Object.values(cmd.args);
  if (args.length > 0) {
    out.push(`Args:\n${twoColumns(args.map((a) => [argUsage(a), a.help]), 2)}\n`);
  }
  if (hasSubcommands) {
    out.push(`${path.length === 1 ? "Commands" : "Subcommands"}:\n`);
    for (const { name: sub, command } of leafCommands(cmd)) {
      if (command.hidden) continue;
      const help = indentLines(wrap(helpLine(command), WIDTH - 4), 4);
      out.push(`  ${sub}${commandSummary(command)}\n${help}\n\n`);
    }
  }
  return out.join("");
}

/** `--help-long`: the program's help with every command's flags. */
export function longHelpText(): string {
  const out: string[] = [];
  out.push(`usage: ${PROGRAM}${commandSummary(ROOT)} <command> [<args> ...]\n`);
  out.push(`\n${wrap(ROOT.help, WIDTH)}\n\n`);
  out.push(`Flags:\n${twoColumns(flagRows(visibleFlags(ROOT)), 2)}\n`);
  out.push("Commands:\n");
  for (const { name, command } of leafCommands(ROOT)) {
    if (command.hidden) continue;
    out.push(
      `  ${name}${commandSummary(command)}\n${
        indentLines(wrap(helpLine(command), WIDTH - 4), 4)
      }\n`,
    );
    const flags = visibleFlags(command);
    if (flags.length > 0) out.push(twoColumns(flagRows(flags), 4));
    out.push("\n");
  }
  return out.join("");
}

/** `--help-man`: a man page (roff, man macros). */
export function manPage(): string {
  const out: string[] = [];
  out.push(
    `.TH ${roff(PROGRAM.toUpperCase())} 1 "" "${roff(PROGRAM)} ${VERSION}" "User Commands"\n`,
  );
  out.push(`.SH NAME\n${roff(PROGRAM)} \\- ${roff(ROOT.help)}\n`);
  out.push(
    `.SH SYNOPSIS\n.B ${roff(PROGRAM)}\n${
      roff(`${commandSummary(ROOT)} <command> [<args> ...]`.trim())
    }\n`,
  );
  out.push(`.SH DESCRIPTION\n${roff(ROOT.help)}\n`);
  out.push(`.SH OPTIONS\n${manFlags(visibleFlags(ROOT))}`);
  out.push(".SH COMMANDS\n");
  for (const { name, command } of leafCommands(ROOT)) {
    if (command.hidden) continue;
    out.push(`.SS "${roff(`${name}${commandSummary(command)}`)}"\n${roff(helpLine(command))}\n`);
    out.push(manFlags(visibleFlags(command)));
  }
  const envVars = allFlags(ROOT).filter((f) => f.env && !f.hidden);
  out.push(".SH ENVIRONMENT\n");
  for (const f of [...new Map(envVars.map((f) => [f.env, f])).values()]) {
    out.push(`.TP\n.B ${roff(f.env ?? "")}\nDefault of \\fB\\-\\-${roff(f.name)}\\fR.\n`);
  }
  out.push(`.SH SEE ALSO\n${roff(`${PROGRAM} --help-long`)}\n`);
  return out.join("");
}

function manFlags(flags: AnyFlag[]): string {
  return flags.map((f) => `.TP\n\\fB${roff(flagUsage(f, false))}\\fR\n${roff(flagHelp(f))}\n`).join(
    "",
  );
}

/** Text for roff: backslashes and hyphens escaped, no line starting with a control character. */
export function roff(text: string): string {
  return text.replaceAll("\\", "\\e").replaceAll("-", "\\-").split("\n").map((l) =>
    /^[.']/.test(l) ? `\\&${l}` : l
  ).join("\n");
}

function visibleFlags(cmd: Command): AnyFlag[] {
  return Object.values(cmd.flags).filter((f) => !f.hidden);
}

function allFlags(cmd: Command): AnyFlag[] {
  return [...Object.values(cmd.flags), ...(cmd.subcommands ?? []).flatMap(allFlags)];
}

/** A command's help line, with aliases and the not-built mark. */
function helpLine(cmd: Command): string {
  const alias = cmd.aliases?.length ? ` (alias: ${cmd.aliases.join(", ")})` : "";
  return `${cmd.help}${alias}${cmd.notBuilt ? ` ${NOT_BUILT}` : ""}`;
}

/** Commands without subcommands, with their full names (`agent start`). */
function leafCommands(cmd: Command, prefix = ""): { name: string; command: Command }[] {
  return (cmd.subcommands ?? []).flatMap((sub) => {
    const name = `${prefix}${sub.name}`;
    return sub.subcommands?.length ? leafCommands(sub, `${name} `) : [{ name, command: sub }];
  });
}

/** ` [<flags>] <profile>`: kingpin's flag summary and argument list. */
function commandSummary(cmd: Command): string {
  const flags = Object.values(cmd.flags).filter((f) => f.name !== "help");
  const required = flags.filter((f) => f.required).map((f) => flagUsage(f, false));
  if (flags.length > required.length) required.push("[<flags>]");
  const args = Object.values(cmd.args).map(argUsage);
  const parts = [...required, ...args];
  return parts.length > 0 ? ` ${parts.join(" ")}` : "";
}

function argUsage(a: ArgSpec<unknown>): string {
  const core = `<${a.name}>${a.rest ? "..." : ""}`;
  return a.required ? core : `[${core}]`;
}

function flagRows(flags: AnyFlag[]): [string, string][] {
  const haveShort = flags.some((f) => f.short);
  return flags.map((f) => [flagUsage(f, haveShort), flagHelp(f)]);
}

/** `-d, --duration=DURATION`, `--[no-]add-config`, `--keychain="aws-vault"`. */
function flagUsage(f: AnyFlag, haveShort: boolean): string {
  // `--[no-]x` only where the negation is the useful spelling: booleans that default to on.
  const name = f.boolean && f.negatable !== false && f.initial === true ? `[no-]${f.name}` : f.name;
  let text = f.short ? `-${f.short}, --${name}` : `${haveShort ? "    " : ""}--${name}`;
  if (!f.boolean) text += `=${placeholder(f)}`;
  if (f.repeatable) text += " ...";
  return text;
}

function placeholder(f: AnyFlag): string {
  if (typeof f.initial === "number") return formatDuration(f.initial);
  if (typeof f.initial === "string" && f.initial !== "" && !f.required) {
    return f.choices ? f.initial : JSON.stringify(f.initial);
  }
  return f.placeholder;
}

/** The help of a flag: its text, choices, environment variable and not-built mark. */
function flagHelp(f: AnyFlag): string {
  let text = f.help;
  if (f.choices) {
    const served = f.choices.filter((c) => !f.unservable?.includes(c));
    const unserved = f.choices.filter((c) => f.unservable?.includes(c));
    text += ` [${served.join(" ")}${
      unserved.length > 0 ? `; accepted, not in this build: ${unserved.join(" ")}` : ""
    }]`;
  }
  if (f.env) text += ` ($${f.env})`;
  if (f.notBuilt) text += ` ${NOT_BUILT}`;
  return text;
}

/** kingpin's two columns: the first as wide as its widest entry under 30 characters. */
function twoColumns(rows: [string, string][], indent: number): string {
  const width = Math.max(0, ...rows.map(([l]) => l.length).filter((n) => n < 30));
  const pad = " ".repeat(indent);
  const offset = " ".repeat(width + 2);
  return rows.map(([left, right]) => {
    const lines = wrap(right, Math.max(20, WIDTH - width - 2 - indent)).split("\n");
    const head = left.length >= 30
      ? `${pad}${left}\n${pad}${offset}${lines[0]}`
      : `${pad}${left.padEnd(width)}  ${lines[0]}`;
    return [head, ...lines.slice(1).map((l) => `${pad}${offset}${l}`)].join("\n") + "\n";
  }).join("");
}

function indentLines(text: string, n: number): string {
  const pad = " ".repeat(n);
  return text.split("\n").map((l) => pad + l).join("\n");
}

/** Greedy word wrap. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join("\n");
}
