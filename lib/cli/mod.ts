/**
 * The command line: parses argv against the command table (table.ts), handles kingpin's
 * built-in flags (help, version, man page, completion) and runs the command. Help, man page and
 * completion modules are imported only when asked for.
 */
import { NotImplementedError, UsageError } from "../errors.ts";
import { DebugLogger } from "../logger.ts";
import type { RunWatch } from "../replay/watch.ts";
import type { Runtime } from "../runtime.ts";
import type { Services } from "../vault/services.ts";
import type { CommandContext, GlobalFlags } from "./global.ts";
import {
  commandOf,
  flagsInScope,
  NoCommandGiven,
  optionsOf,
  type Parsed,
  parsePartial,
} from "./parse.ts";
import { BUILTIN_FLAGS, GLOBAL_FLAGS, ROOT, VERSION } from "./table.ts";

export { VERSION };

/**
 * Parses argv and runs the command; returns the process exit code. `log` is turned on when the
 * command line has `--debug` (main.ts reads it to show a bug's stack trace).
 */
export async function runCli(
  argv: string[],
  runtime: Runtime,
  log: DebugLogger = new DebugLogger(runtime.stderr),
): Promise<number> {
  const completing = completionRequest(argv);
  if (completing) {
    const { completeWords } = await import("./completion.ts");
    runtime.stdout(await completeWords(completing, runtime));
    return 0;
  }
  // The variables the command line reads: a replay record depends on them too.
  const read = new Set<string>();
  const env = (name: string) => {
    read.add(name);
    return runtime.env.get(name);
  };
  const { parsed, error } = parsePartial(ROOT, argv, env);
  const builtin = (spec: (typeof BUILTIN_FLAGS)[keyof typeof BUILTIN_FLAGS]) =>
    parsed.given.has(spec) && parsed.values.get(spec) === true;
  // --help wins over a mistake elsewhere on the line (a flag the parser stopped at).
  const helpAfterError = error !== undefined && beforeDoubleDash(argv).includes("--help");
  if (builtin(BUILTIN_FLAGS.help) || helpAfterError) {
    const { helpText } = await import("./help.ts");
    runtime.stdout(helpText(parsed.path));
    return 0;
  }
  if (builtin(BUILTIN_FLAGS.helpLong)) {
    const { longHelpText } = await import("./help.ts");
    runtime.stdout(longHelpText());
    return 0;
  }
  if (builtin(BUILTIN_FLAGS.helpMan)) {
    const { manPage } = await import("./help.ts");
    runtime.stdout(manPage());
    return 0;
  }
  if (builtin(BUILTIN_FLAGS.version)) {
    runtime.stdout(`${VERSION}\n`);
    return 0;
  }
  if (builtin(BUILTIN_FLAGS.completionScriptBash) || builtin(BUILTIN_FLAGS.completionScriptZsh)) {
    const { completionScript } = await import("./completion.ts");
    runtime.stdout(completionScript(builtin(BUILTIN_FLAGS.completionScriptZsh) ? "zsh" : "bash"));
    return 0;
  }
  if (error) {
    if (error instanceof NoCommandGiven) {
      // No command at all (`aws-vault`, `aws-vault --debug`): kingpin shows the usage; it is
      // still a usage error. A wrong flag is only its one line.
      const { helpText } = await import("./help.ts");
      runtime.stderr(helpText(parsed.path));
    }
    throw error;
  }
  const cmd = commandOf(parsed);
  // Only a command that records (export, exec) is watched, from here on through a runtime that
  // notes what it reads and says; the others do not load the watch (lib/replay/watch.ts).
  const watched = cmd.records
    ? (await import("../replay/watch.ts")).watchRun(argv, runtime, { read })
    : { runtime, watch: undefined };
  const ctx = context(optionsOf(parsed, GLOBAL_FLAGS), watched.runtime, log, watched.watch);
  refuseNotBuilt(parsed, ctx.log);
  if (!cmd.run) throw new UsageError(`'${cmd.name}' cannot be run`);
  return await cmd.run(ctx, {
    options: optionsOf(parsed, cmd.flags),
    args: Object.fromEntries(parsed.args),
  });
}

function beforeDoubleDash(argv: string[]): string[] {
  const end = argv.indexOf("--");
  return end < 0 ? argv : argv.slice(0, end);
}

/** The words to complete when argv asks for kingpin's `--completion-bash`, else undefined. */
function completionRequest(argv: string[]): string[] | undefined {
  const end = argv.indexOf("--");
  const at = argv.indexOf("--completion-bash");
  if (at < 0 || (end >= 0 && at > end)) return undefined;
  return argv.filter((_, i) => i !== at);
}

/** Refuses a command or a flag whose feature has not landed (exit 1, not a usage error). */
function refuseNotBuilt(parsed: Parsed<CommandContext>, log: CommandContext["log"]): void {
  const cmd = commandOf(parsed);
  if (cmd.notBuilt) throw new NotImplementedError(`'aws-vault ${cmd.name}'`);
  for (const spec of flagsInScope(parsed.path)) {
    if (!spec.notBuilt || !parsed.given.has(spec)) continue;
    if (parsed.values.get(spec) === spec.initial) continue;
    if (!parsed.fromArgv.has(spec)) {
      // A standing preference in the environment is no reason to fail every command.
      log.debug(`$${spec.env} ignored: --${spec.name} is not built yet`);
      continue;
    }
    throw new NotImplementedError(`'--${spec.name}'`);
  }
}

function context(
  options: GlobalFlags,
  runtime: Runtime,
  log: DebugLogger,
  watch: RunWatch | undefined,
): CommandContext {
  if (options.debug) log.enable();
  let services: Promise<Services> | undefined;
  const servicesOnce = () =>
    services ??= Promise.all([
      import("../vault/services.ts"),
      import("../agent/file_crypto.ts"),
    ]).then(([m, agent]) =>
      m.buildServices(runtime, {
        ...options,
        fileCrypto: agent.agentFileCrypto(runtime, log),
        onSessionUse: (use) => watch?.uses.push(use),
      }, log)
    );
  return {
    runtime,
    options,
    log,
    watch,
    services: servicesOnce,
    keyring: async () => (await servicesOnce()).keyring(),
  };
}
