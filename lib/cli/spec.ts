/**
 * The vocabulary of the command table (lib/cli/table.ts): flags, positional arguments and
 * commands as plain data. Each declaration carries its value type, so a command's options and
 * arguments types are derived from what it declares. The parser (parse.ts), help and man page
 * (help.ts) and shell completion (completion.ts) all read the same declarations.
 */
import { parseDuration } from "../duration.ts";
import { escapeControl } from "../encoding.ts";

/** What completes a flag's value or an argument: a fixed list, or the config's profile names. */
export type Completion = readonly string[] | "profile";

/** One flag. `T` is its value once parsed (default and environment applied). */
export interface FlagSpec<T> {
  /** Long name, without `--`. */
  readonly name: string;
  /** One-letter short name, without `-`. */
  readonly short?: string;
  readonly help: string;
  /** True for flags without a value (`--debug`, `--no-debug`). */
  readonly boolean: boolean;
  /** False for booleans whose `--no-` form makes no sense (`--help`); help shows `--[no-]x`. */
  readonly negatable?: boolean;
  /** Shown after `=` in help: `--duration=DURATION`. */
  readonly placeholder: string;
  /** Environment variable read when the flag is not given (empty counts as unset). */
  readonly env?: string;
  readonly hidden?: boolean;
  /** The feature behind the flag has not landed: help says so; using it is an error (exit 1). */
  readonly notBuilt?: boolean;
  readonly required?: boolean;
  /** May be given more than once; the values are collected. */
  readonly repeatable?: boolean;
  /** The accepted values, when there is a fixed list. */
  readonly choices?: readonly string[];
  /** Choices this build accepts but cannot serve (help marks them). */
  readonly unservable?: readonly string[];
  /** Values offered by shell completion. */
  readonly complete?: Completion;
  /** The value when neither the flag nor its environment variable is given. */
  readonly initial: T;
  /** Parses one given value onto the previous one; throws an Error whose message says why. */
  parse(raw: string, previous: T): T;
}

/** One positional argument. */
export interface ArgSpec<T> {
  readonly name: string;
  readonly help: string;
  readonly required: boolean;
  /** Takes every remaining argument. */
  readonly rest: boolean;
  /** Once this argument is reached, every later token is an argument, even `--help` (exec). */
  readonly verbatim?: boolean;
  readonly complete?: Completion;
  readonly initial: T;
  parse(raw: string, previous: T): T;
}

/** A command's flags, by option name (camelCase of the long name). */
export type FlagSet = Readonly<Record<string, FlagSpec<unknown>>>;
/** A command's positional arguments, in order, by name. */
export type ArgSet = Readonly<Record<string, ArgSpec<unknown>>>;

/** The options object a flag set parses into. */
export type OptionsOf<F extends FlagSet> = {
  [K in keyof F]: F[K] extends FlagSpec<infer T> ? T : never;
};
/** The arguments object an argument set parses into. */
export type ArgsOf<A extends ArgSet> = {
  [K in keyof A]: A[K] extends ArgSpec<infer T> ? T : never;
};

/** What a command's implementation receives besides its context. */
export interface Input<F extends FlagSet, A extends ArgSet> {
  options: OptionsOf<F>;
  args: ArgsOf<A>;
}

/** One command: its flags, arguments, subcommands and how to run it. `Ctx` is the context type. */
export interface CommandSpec<Ctx, F extends FlagSet = FlagSet, A extends ArgSet = ArgSet> {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly help: string;
  readonly hidden?: boolean;
  /** Not landed yet: help says so; running it is an error (exit 1). */
  readonly notBuilt?: boolean;
  /** Its runs may leave a replay record (lib/replay): what they read and say is watched. */
  readonly records?: boolean;
  readonly flags: F;
  readonly args: A;
  readonly subcommands?: readonly CommandSpec<Ctx>[];
  /** Runs the command (loading its module on first use); returns the exit code. */
  run?(ctx: Ctx, input: Input<F, A>): Promise<number>;
}

/** The input type of a declared command. */
export type InputOf<C> = C extends Declaration<infer F, infer A> ? Input<F, A> : never;

/** A command's declaration, without how it runs (implementations are typed by it). */
export type Declaration<F extends FlagSet, A extends ArgSet> = Omit<
  CommandSpec<never, F, A>,
  "run" | "subcommands"
>;

/** Declares a command (identity: it only fixes the type parameters). */
export function command<F extends FlagSet, A extends ArgSet>(
  spec: Declaration<F, A>,
): Declaration<F, A> {
  return spec;
}

/** A declared command with its implementation. */
export function runs<Ctx, F extends FlagSet, A extends ArgSet>(
  declaration: Declaration<F, A>,
  run: (ctx: Ctx, input: Input<F, A>) => Promise<number>,
): CommandSpec<Ctx, F, A> {
  return { ...declaration, run };
}

/** What every flag declaration may set. */
export interface FlagOptions {
  short?: string;
  negatable?: boolean;
  env?: string;
  hidden?: boolean;
  notBuilt?: boolean;
  placeholder?: string;
  complete?: Completion;
}

/**
 * A word of the command line as error messages show it: control characters escaped (no escape
 * sequence reaches the terminal, the message stays one line) and at most 60 characters.
 */
export function shown(word: string): string {
  const cut = [...word].length > 60 ? `${[...word].slice(0, 60).join("")}...` : word;
  return escapeControl(cut);
}

/** Go's strconv.ParseBool, which kingpin uses for boolean flags and their variables. */
export function parseBool(raw: string): boolean {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
  throw new Error(`'${shown(raw)}' is not a boolean (use true or false)`);
}

function placeholderOf(name: string): string {
  return name.toUpperCase().replaceAll("-", "_");
}

function checkDuration(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined) {
    throw new Error(`"${shown(raw)}" is not a duration (use e.g. 90m, 12h or 3600s)`);
  }
  return ms;
}

function checkChoice<C extends string>(choices: readonly C[], raw: string): C {
  const found = choices.find((c) => c === raw);
  if (found === undefined) {
    throw new Error(`'${shown(raw)}' is not one of ${choices.join(", ")}`);
  }
  return found;
}

/** Flag declarations, one per value type. */
export const flag = {
  /** A flag without a value; `--no-<name>` turns it off. */
  bool(name: string, help: string, options: FlagOptions & { initial?: boolean } = {}): FlagSpec<
    boolean
  > {
    return {
      ...options,
      name,
      help,
      boolean: true,
      placeholder: "",
      initial: options.initial ?? false,
      parse: (raw) => parseBool(raw),
    };
  },
  /** A text value; undefined when not given. */
  string(name: string, help: string, options: FlagOptions = {}): FlagSpec<string | undefined> {
    return {
      name,
      help,
      boolean: false,
      placeholder: placeholderOf(name),
      initial: undefined,
      ...options,
      parse: (raw) => raw,
    };
  },
  /** A text value with a default. */
  text(name: string, help: string, initial: string, options: FlagOptions = {}): FlagSpec<string> {
    return {
      name,
      help,
      boolean: false,
      placeholder: placeholderOf(name),
      initial,
      ...options,
      parse: (raw) => raw,
    };
  },
  /** A text value that may be repeated; every value in order. */
  strings(name: string, help: string, options: FlagOptions = {}): FlagSpec<string[]> {
    return {
      name,
      help,
      boolean: false,
      repeatable: true,
      placeholder: placeholderOf(name),
      initial: [],
      ...options,
      parse: (raw, previous) => [...previous, raw],
    };
  },
  /** A Go duration (`90m`, `12h`, `3600s`), in milliseconds; undefined when not given. */
  duration(name: string, help: string, options: FlagOptions = {}): FlagSpec<number | undefined> {
    return {
      name,
      help,
      boolean: false,
      placeholder: placeholderOf(name),
      initial: undefined,
      ...options,
      parse: checkDuration,
    };
  },
  /** A duration with a default, in milliseconds. */
  durationWithDefault(
    name: string,
    help: string,
    initial: number,
    options: FlagOptions = {},
  ): FlagSpec<number> {
    return {
      name,
      help,
      boolean: false,
      placeholder: placeholderOf(name),
      initial,
      ...options,
      parse: checkDuration,
    };
  },
  /** One of a fixed list; undefined when not given. */
  choice<C extends string>(
    name: string,
    help: string,
    choices: readonly C[],
    options: FlagOptions & { unservable?: readonly string[]; check?: (raw: string) => void } = {},
  ): FlagSpec<C | undefined> {
    const { check, ...rest } = options;
    return {
      name,
      help,
      boolean: false,
      placeholder: placeholderOf(name),
      choices,
      complete: choices,
      initial: undefined,
      ...rest,
      parse: (raw) => {
        check?.(raw);
        return checkChoice(choices, raw);
      },
    };
  },
  /** One of a fixed list, with a default. */
  choiceWithDefault<C extends string>(
    name: string,
    help: string,
    choices: readonly C[],
    initial: C,
    options: FlagOptions & { unservable?: readonly string[] } = {},
  ): FlagSpec<C> {
    return {
      name,
      help,
      boolean: false,
      placeholder: placeholderOf(name),
      choices,
      complete: choices,
      initial,
      ...options,
      parse: (raw) => checkChoice(choices, raw),
    };
  },
  /** One of a fixed list that must be given. */
  requiredChoice<C extends string>(
    name: string,
    help: string,
    choices: readonly C[],
    options: FlagOptions & { unservable?: readonly string[] } = {},
  ): FlagSpec<C> {
    return {
      name,
      help,
      boolean: false,
      placeholder: placeholderOf(name),
      choices,
      complete: choices,
      required: true,
      // Never seen by a command: the parser refuses a missing required flag.
      initial: choices[0],
      ...options,
      parse: (raw) => checkChoice(choices, raw),
    };
  },
};

/** Positional argument declarations. */
export const arg = {
  /** An argument that must be given. */
  required(name: string, help: string, options: { complete?: Completion } = {}): ArgSpec<string> {
    return { name, help, required: true, rest: false, initial: "", ...options, parse: (r) => r };
  },
  /** An argument that may be left out. */
  optional(
    name: string,
    help: string,
    options: { complete?: Completion; verbatim?: boolean } = {},
  ): ArgSpec<string | undefined> {
    return {
      name,
      help,
      required: false,
      rest: false,
      initial: undefined,
      ...options,
      parse: (r) => r,
    };
  },
  /** An optional argument from a fixed list. */
  choice<C extends string>(name: string, help: string, choices: readonly C[]): ArgSpec<
    C | undefined
  > {
    return {
      name,
      help,
      required: false,
      rest: false,
      complete: choices,
      initial: undefined,
      parse: (r) => checkChoice(choices, r),
    };
  },
  /** An argument from a fixed list that must be given. */
  requiredChoice<C extends string>(name: string, help: string, choices: readonly C[]): ArgSpec<C> {
    return {
      name,
      help,
      required: true,
      rest: false,
      complete: choices,
      // Never seen by a command: the parser refuses a missing required argument.
      initial: choices[0],
      parse: (r) => checkChoice(choices, r),
    };
  },
  /** Every remaining argument. */
  rest(name: string, help: string, options: { complete?: Completion } = {}): ArgSpec<string[]> {
    return {
      name,
      help,
      required: false,
      rest: true,
      initial: [],
      ...options,
      parse: (r, previous) => [...previous, r],
    };
  },
};
