/**
 * The command-line parser, with kingpin's semantics (what aws-vault users' scripts rely on):
 * flags before or after the command and its arguments (a command's flags and every ancestor's),
 * `--flag=value` and `--flag value`, combined short flags (`-nd 2h`), `--no-<flag>` for
 * booleans, repeatable flags, `--` ending the flags, and arguments that take every later token
 * verbatim (exec's command). A flag not given takes its environment variable when that is set
 * and not empty, else its default. Errors are UsageErrors (exit code 2), one line each.
 */
import { UsageError } from "../errors.ts";
import {
  type ArgSpec,
  type CommandSpec,
  type FlagSet,
  type FlagSpec,
  type OptionsOf,
  shown,
} from "./spec.ts";

/** A flag of any value type. */
type AnyFlag = FlagSpec<unknown>;

/** The outcome of parsing. */
export interface Parsed<Ctx> {
  /** The commands named, outermost (the program) first. */
  path: CommandSpec<Ctx>[];
  /** The value of every flag in scope (the path's), defaults and environment applied. */
  values: Map<AnyFlag, unknown>;
  /** Flags given on the command line or by a (non-empty) environment variable. */
  given: Set<AnyFlag>;
  /** Flags given on the command line. */
  fromArgv: Set<AnyFlag>;
  /** The last command's arguments, by name. */
  args: Map<string, unknown>;
}

/** Parsing that stopped at an error keeps what it had, for help and completion. */
export interface PartialParse<Ctx> {
  parsed: Parsed<Ctx>;
  error?: UsageError;
}

/** The environment as the parser reads it. */
export type EnvLookup = (name: string) => string | undefined;

/** The last command of the path. */
export function commandOf<Ctx>(parsed: Parsed<Ctx>): CommandSpec<Ctx> {
  return parsed.path[parsed.path.length - 1];
}

/**
 * The options object of one flag set. Sound by construction: the parser stores for each flag
 * only what that flag's own `parse` or `initial` produced, so the value under key K is an
 * `OptionsOf<F>[K]`; the type system cannot follow a Map, hence the one assertion.
 */
export function optionsOf<Ctx, F extends FlagSet>(parsed: Parsed<Ctx>, flags: F): OptionsOf<F> {
  const entries = Object.entries(flags).map(([key, spec]) => [
    key,
    parsed.values.has(spec) ? parsed.values.get(spec) : spec.initial,
  ]);
  return Object.fromEntries(entries) as OptionsOf<F>;
}

/** Parses `argv`; a UsageError for anything wrong. */
export function parseArgv<Ctx>(
  root: CommandSpec<Ctx>,
  argv: string[],
  env: EnvLookup,
): Parsed<Ctx> {
  const { parsed, error } = parsePartial(root, argv, env);
  if (error) throw error;
  return parsed;
}

/** Parses `argv` as far as it goes; never throws. */
export function parsePartial<Ctx>(
  root: CommandSpec<Ctx>,
  argv: string[],
  env: EnvLookup,
): PartialParse<Ctx> {
  const state: ParseState<Ctx> = {
    parsed: {
      path: [root],
      values: new Map(),
      given: new Set(),
      fromArgv: new Set(),
      args: new Map(),
    },
    env,
    tokens: argv,
    pos: 0,
    argIndex: 0,
    onlyArgs: false,
  };
  try {
    run(state);
    finish(state);
    return { parsed: state.parsed };
  } catch (err) {
    if (err instanceof UsageError) return { parsed: state.parsed, error: err };
    throw err;
  }
}

/** Every flag in scope of a path, innermost command first. */
export function flagsInScope<Ctx>(path: CommandSpec<Ctx>[]): AnyFlag[] {
  return path.toReversed().flatMap((c) => Object.values(c.flags));
}

/** The subcommand of `parent` with this name or alias. */
export function findSubcommand<Ctx>(
  parent: CommandSpec<Ctx>,
  name: string,
): CommandSpec<Ctx> | undefined {
  return parent.subcommands?.find((c) => c.name === name || c.aliases?.includes(name));
}

// The parser is plain functions over its state, not a class: the bundle compiles module-level
// functions with their module, so Deno's code cache holds them, where a class's methods are
// compiled at their first call in every run (a first parse: 0.71 ms as a class, 0.43 as these).

/** Where parsing is. */
interface ParseState<Ctx> {
  readonly parsed: Parsed<Ctx>;
  readonly env: EnvLookup;
  readonly tokens: string[];
  /** The token being read. */
  pos: number;
  /** The next argument of the command to fill. */
  argIndex: number;
  /** After `--`, or a verbatim argument: every token is an argument. */
  onlyArgs: boolean;
}

function run<Ctx>(state: ParseState<Ctx>): void {
  const argv = state.tokens;
  for (state.pos = 0; state.pos < argv.length; state.pos++) {
    const token = argv[state.pos];
    if (state.onlyArgs) positional(state, token);
    else if (token === "--") state.onlyArgs = true;
    else if (token.startsWith("--")) long(state, token.slice(2));
    else if (token.startsWith("-") && token.length > 1) shorts(state, token.slice(1));
    else positional(state, token);
  }
}

/** The error for a command line that names no command (kingpin shows the usage with it). */
export class NoCommandGiven extends UsageError {
  constructor() {
    super("no command given (try --help)");
  }
}

function finish<Ctx>(state: ParseState<Ctx>): void {
  const { parsed } = state;
  const cmd = commandOf(parsed);
  if (cmd.subcommands && cmd.subcommands.length > 0 && !cmd.run) {
    const names = cmd.subcommands.filter((c) => !c.hidden).map((c) => c.name);
    if (parsed.path.length === 1) throw new NoCommandGiven();
    throw new UsageError(`'${cmd.name}' needs a subcommand: ${names.join(", ")}`);
  }
  const args = Object.values(cmd.args);
  for (const spec of args.slice(state.argIndex)) {
    if (spec.required && !parsed.args.has(spec.name)) {
      throw new UsageError(`missing required argument '${spec.name}'`);
    }
  }
  for (const spec of args) {
    if (!parsed.args.has(spec.name)) parsed.args.set(spec.name, spec.initial);
  }
  for (const spec of flagsInScope(parsed.path)) {
    if (parsed.values.has(spec)) continue;
    const fromEnv = spec.env ? state.env(spec.env) : undefined;
    if (spec.env && fromEnv !== undefined && fromEnv !== "") {
      const raws = spec.repeatable ? fromEnv.split(/\r?\n/) : [fromEnv];
      let value = spec.initial;
      for (const raw of raws) value = parseValue(spec, raw, value, `$${spec.env}`);
      parsed.values.set(spec, value);
      parsed.given.add(spec);
      continue;
    }
    if (spec.required) throw new UsageError(`required flag --${spec.name} not provided`);
    parsed.values.set(spec, spec.initial);
  }
}

function positional<Ctx>(state: ParseState<Ctx>, token: string): void {
  const { parsed } = state;
  const cmd = commandOf(parsed);
  if (cmd.subcommands && cmd.subcommands.length > 0 && state.argIndex === 0) {
    const sub = findSubcommand(cmd, token);
    if (!sub) {
      const names = cmd.subcommands.filter((c) => !c.hidden).flatMap((c) => [
        c.name,
        ...(c.aliases ?? []),
      ]);
      throw new UsageError(`unknown command '${shown(token)}'${suggestion(token, names, "")}`);
    }
    parsed.path.push(sub);
    return;
  }
  const args: ArgSpec<unknown>[] = Object.values(cmd.args);
  const spec = args[state.argIndex];
  if (!spec) {
    const where = parsed.path.length > 1 ? ` for '${cmd.name}'` : "";
    throw new UsageError(`unexpected argument '${shown(token)}'${where}`);
  }
  let value: unknown;
  try {
    value = spec.parse(token, parsed.args.get(spec.name) ?? spec.initial);
  } catch (err) {
    throw new UsageError(`argument '${spec.name}': ${messageOf(err)}`);
  }
  parsed.args.set(spec.name, value);
  if (!spec.rest) state.argIndex++;
  if (spec.verbatim) state.onlyArgs = true;
}

function long<Ctx>(state: ParseState<Ctx>, body: string): void {
  const eq = body.indexOf("=");
  const name = eq >= 0 ? body.slice(0, eq) : body;
  const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
  const scope = flagsInScope(state.parsed.path);
  const spec = scope.find((f) => f.name === name);
  if (!spec) {
    const negated = name.startsWith("no-")
      ? scope.find((f) => f.boolean && f.name === name.slice(3))
      : undefined;
    if (negated) {
      if (inline !== undefined) {
        throw new UsageError(`--${name} takes no value (got '${shown(inline)}')`);
      }
      set(state, negated, "false", `--${name}`);
      return;
    }
    const names = scope.filter((f) => !f.hidden).map((f) => f.name);
    throw new UsageError(`unknown option '--${shown(name)}'${suggestion(name, names, "--")}`);
  }
  if (spec.boolean) {
    set(state, spec, inline ?? "true", `--${name}`);
    return;
  }
  set(state, spec, inline ?? valueAfter(state, `--${name}`), `--${name}`);
}

function shorts<Ctx>(state: ParseState<Ctx>, cluster: string): void {
  const scope = flagsInScope(state.parsed.path);
  for (let i = 0; i < cluster.length; i++) {
    const c = String.fromCodePoint(cluster.codePointAt(i)!);
    const spec = scope.find((f) => f.short === c);
    if (!spec) throw new UsageError(`unknown option '-${shown(c)}'`);
    if (spec.boolean) {
      set(state, spec, "true", `-${c}`);
      continue;
    }
    const rest = cluster.slice(i + 1);
    set(state, spec, rest !== "" ? rest : valueAfter(state, `-${c}`), `-${c}`);
    return;
  }
}

function valueAfter<Ctx>(state: ParseState<Ctx>, flagText: string): string {
  const next = state.tokens[state.pos + 1];
  if (next === undefined || (next.startsWith("-") && next !== "-")) {
    throw new UsageError(`expected a value for ${flagText}`);
  }
  state.pos++;
  return next;
}

function set<Ctx>(state: ParseState<Ctx>, spec: AnyFlag, raw: string, given: string): void {
  const { parsed } = state;
  const seen = parsed.given.has(spec);
  if (seen && !spec.repeatable && !spec.boolean) {
    throw new UsageError(`flag '--${spec.name}' cannot be repeated`);
  }
  const previous = seen ? parsed.values.get(spec) : spec.initial;
  parsed.values.set(spec, parseValue(spec, raw, previous, given));
  parsed.given.add(spec);
  parsed.fromArgv.add(spec);
}

function parseValue(spec: AnyFlag, raw: string, previous: unknown, source: string): unknown {
  try {
    return spec.parse(raw, previous);
  } catch (err) {
    const name = source.startsWith("$") ? `${source} (--${spec.name})` : `--${spec.name}`;
    throw new UsageError(`${name}: ${messageOf(err)}`);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `, did you mean '--region'?` for the closest known name, or nothing. */
export function suggestion(given: string, known: string[], prefix: string): string {
  if (given.length > 64) return ""; // no name is that long; and the distance costs length²
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = editDistance(given, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  const limit = Math.max(1, Math.min(3, Math.floor(given.length / 3)));
  return best !== undefined && bestDistance <= limit ? `, did you mean '${prefix}${best}'?` : "";
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
