/**
 * The command line: every command, flag, alias and environment variable of aws-vault (99designs
 * v7 and ByteNess), plus the older spellings of the usage guide. Command implementations live in
 * one file each and are imported only when that command runs.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parseDuration } from "../duration.ts";
import { NotImplementedError, UsageError } from "../errors.ts";
import { DebugLogger } from "../logger.ts";
import type { Runtime } from "../runtime.ts";
import type { Services } from "../vault/services.ts";
import { VERSION } from "../version.ts";
import { BACKEND_NAMES, type CommandContext, type GlobalOptions, PROMPT_NAMES } from "./global.ts";

export { VERSION } from "../version.ts";

type Action = (ctx: CommandContext, ...args: unknown[]) => Promise<number | void>;

/**
 * Parses argv and runs the command; returns the process exit code. `log` is turned on when the
 * command line has `--debug` (main.ts reads it to show a bug's stack trace).
 */
export async function runCli(
  argv: string[],
  runtime: Runtime,
  log: DebugLogger = new DebugLogger(runtime.stderr),
): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(runtime, (code) => exitCode = code, log);
  try {
    await program.parseAsync(splitExecArgs(program, argv), { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // help or version was printed
      if (err.code === "commander.help") return 2; // no command: help went to stderr
      throw new UsageError(err.message.replace(/^error: /, ""));
    }
    throw err;
  }
  return exitCode;
}

/** Builds the commander program; `setExit` receives each action's exit code. */
export function buildProgram(
  runtime: Runtime,
  setExit: (code: number) => void,
  log: DebugLogger = new DebugLogger(runtime.stderr),
): Command {
  const program = new Command("aws-vault")
    .description(
      "A vault for securely storing and accessing AWS credentials in development environments.",
    )
    .version(VERSION, "-v, --version", "Show application version.")
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => runtime.stdout(s),
      writeErr: (s) => runtime.stderr(s),
      // Errors are printed by main.ts as one line; commander's own copy is dropped.
      outputError: () => {},
    });
  addGlobalOptions(program, { hidden: false });
  program.helpCommand(true);
  // Global flags are accepted after the command name too; help lists them once, as globals.
  // They are added only to the command being run: building them for every command costs startup.
  program.hook("preSubcommand", (_program, command) => {
    if (!command.options.some((o) => o.long === "--debug")) {
      addGlobalOptions(command, { hidden: true });
    }
  });
  program.configureHelp({ showGlobalOptions: true });
  program.addOption(new Option("--help-long", "Generate long help."));
  program.on("option:help-long", () => {
    runtime.stdout(longHelp(program));
    throw new CommanderError(0, "aws-vault.helpLong", "");
  });
  // kingpin's man page and completion flags; the completion issue implements them.
  for (
    const flag of ["help-man", "completion-bash", "completion-script-bash", "completion-script-zsh"]
  ) {
    program.addOption(new Option(`--${flag}`).hideHelp());
    program.on(`option:${flag}`, () => {
      throw new NotImplementedError(`'--${flag}'`);
    });
  }

  const run = (cmd: Command, load: () => Promise<Action>) => {
    cmd.action(async (...args: unknown[]) => {
      // commander passes (...positionals, options, command)
      const self = args[args.length - 1] as Command;
      const positional = args.slice(0, -2);
      const action = await load();
      const code = await action(context(self, runtime, log), ...positional, mergedOptions(self));
      setExit(code ?? 0);
    });
    return cmd;
  };

  run(
    sub(program, "add", "Add credentials to the secure keystore.")
      .argument("<profile>", "Name of the profile")
      .option("--env", "Read the credentials from the environment (AWS_ACCESS_KEY_ID).", false)
      .option("--add-config", "Add a profile to ~/.aws/config if one doesn't exist.", true)
      .option("--no-add-config", "Don't add a profile to ~/.aws/config."),
    async () => (await import("./add.ts")).addCommand as Action,
  );

  run(
    sub(program, "remove", "Remove credentials from the secure keystore.")
      .alias("rm")
      .argument("<profile>", "Name of the profile")
      .option("-f, --force", "Force-remove the profile without a prompt.", false)
      .addOption(
        new Option("-s, --sessions-only", "Only remove sessions, leave credentials intact.")
          .default(false),
      ),
    async () => (await import("./remove.ts")).removeCommand as Action,
  );

  run(
    sub(program, "list", "List profiles, along with their credentials and sessions.")
      .alias("ls")
      .option("--profiles", "Show only the profile names.", false)
      .option("--sessions", "Show only the session names.", false)
      .option("--credentials", "Show only the profiles with stored credential.", false)
      .option("--json", "Print profiles, credentials and sessions as JSON.", false),
    async () => (await import("./list.ts")).listCommand as Action,
  );

  run(
    sub(
      program,
      "profile",
      "Show how a profile resolves: each value's origin and the source chain.",
    )
      .argument("<profile>", "Name of the profile")
      .option("--json", "Print as JSON.", false)
      .addOption(
        durationOption(
          "-d, --duration <duration>",
          "Duration of the temporary or assume-role session.",
        ).env("AWS_VAULT_DURATION"),
      )
      .option("--region <region>", "The AWS region.")
      .option("-n, --no-session", "Skip creating STS session with GetSessionToken."),
    async () => (await import("./profile.ts")).profileCommand as Action,
  );

  run(
    credentialOptions(
      sub(program, "exec", "Execute a command with AWS credentials.")
        .argument("[profile]", "Name of the profile (default: $AWS_PROFILE)")
        .argument("[cmd]", "Command to execute, defaults to $SHELL")
        .argument("[args...]", "Command arguments"),
    )
      .addOption(
        new Option(
          "-j, --json",
          "Output credentials in JSON that can be used by credential_process.",
        ).default(false).hideHelp(),
      )
      .option("-s, --server", "Alias for --ecs-server.", false)
      .option("--ec2-server", "Run a EC2 metadata server in the background for credentials.", false)
      .option(
        "--ecs-server",
        "Run a ECS credential server in the background for credentials.",
        false,
      )
      .option("--lazy", "When using --ecs-server, lazily fetch credentials.", false)
      .addOption(
        new Option("--profile-env", "Set AWS_PROFILE in the child instead of credential variables.")
          .default(false).env("AWS_VAULT_PROFILE_ENV"),
      ),
    async () => (await import("./exec.ts")).execCommand as Action,
  );

  run(
    credentialOptions(
      sub(program, "export", "Export AWS credentials.")
        .argument("[profile]", "Name of the profile (default: $AWS_PROFILE)"),
    )
      .addOption(
        new Option("--format <format>", "Format to output credentials.")
          .choices(["env", "export-env", "json", "ini", "fish", "powershell"])
          .default("env"),
      ),
    async () => (await import("./export.ts")).exportCommand as Action,
  );

  run(
    sub(program, "clear", "Clear temporary credentials from the secure keystore.")
      .argument("[profile]", "Name of the profile"),
    async () => (await import("./clear.ts")).clearCommand as Action,
  );

  run(
    sub(program, "login", "Generate a login link for the AWS Console.")
      .argument("[profile]", "Name of the profile (default: $AWS_PROFILE)")
      .addOption(
        durationOption(
          "-d, --duration <duration>",
          "Duration of the assume-role or federated session.",
        ).env("AWS_VAULT_DURATION"),
      )
      .option("-n, --no-session", "Skip creating STS session with GetSessionToken.")
      .option("-t, --mfa-token <code>", "The MFA token to use.")
      .option("--path <path>", "The AWS service you would like access.")
      .option("--region <region>", "The AWS region.")
      .addOption(
        new Option(
          "-s, --stdout",
          "Print login URL to stdout instead of opening in default browser.",
        ).default(false).env("AWS_VAULT_STDOUT"),
      )
      .addOption(
        new Option("-a, --auto-logout", "Log out of any existing console session first.").default(
          false,
        ).env("AWS_VAULT_AUTO_LOGOUT"),
      )
      .addOption(
        durationOption(
          "--assume-role-ttl <duration>",
          "Expiration time for the assumed-role console session (env AWS_ASSUME_ROLE_TTL).",
        ),
      )
      .addOption(
        durationOption(
          "--federation-token-ttl <duration>",
          "Expiration time for the federated console session (env AWS_FEDERATION_TOKEN_TTL).",
        ),
      ),
    async () => (await import("./login.ts")).loginCommand as Action,
  );

  run(
    sub(program, "rotate", "Rotate credentials.")
      .argument("[profile]", "Name of the profile (default: $AWS_PROFILE)")
      .option("-n, --no-session", "Use master credentials, no session or role used."),
    async () => (await import("./rotate.ts")).rotateCommand as Action,
  );

  run(
    sub(program, "migrate-backend", "Copy stored credentials from one backend to another.")
      .addOption(
        new Option("--from <backend>", "Backend to copy from.").choices(BACKEND_NAMES)
          .makeOptionMandatory(),
      )
      .addOption(
        new Option("--to <backend>", "Backend to copy to.").choices(BACKEND_NAMES)
          .makeOptionMandatory(),
      )
      .option("--profile <profile>", "Only migrate this profile's credentials.")
      .option("--dry-run", "Show what would be copied without writing anything.", false)
      .option("--overwrite", "Overwrite credentials that already exist in the destination.", false)
      .option(
        "--delete-source",
        "Delete each credential from the source after a verified copy.",
        false,
      ),
    async () => (await import("./migrate_backend.ts")).migrateBackendCommand as Action,
  );

  run(
    sub(program, "proxy", "Start a proxy for the EC2 instance metadata service.", { hidden: true })
      .alias("server")
      .option("--stop", "Stop the proxy.", false),
    async () => (await import("./proxy.ts")).proxyCommand as Action,
  );

  sub(program, "version", "Show application version.").action(() => {
    runtime.stdout(`${VERSION}\n`);
  });

  return program;
}

/** A subcommand that also accepts every global flag (so they work after the command name). */
function sub(
  parent: Command,
  name: string,
  description: string,
  opts: { hidden?: boolean } = {},
): Command {
  const cmd = parent.command(name, { hidden: opts.hidden }).description(description);
  return cmd;
}

/** Flags shared by exec and export: how the credentials are obtained. */
function credentialOptions(cmd: Command): Command {
  // The TTL environment variables (AWS_SESSION_TTL, AWS_ASSUME_ROLE_TTL...) are read by
  // lib/config, which knows their precedence and reports their origin.
  return cmd
    .addOption(
      durationOption(
        "-d, --duration <duration>",
        "Duration of the temporary or assume-role session.",
      )
        .env("AWS_VAULT_DURATION"),
    )
    .option("-n, --no-session", "Skip creating STS session with GetSessionToken.")
    .option("--region <region>", "The AWS region.")
    .option("-t, --mfa-token <code>", "The MFA token to use.")
    .addOption(
      durationOption(
        "--session-ttl <duration>",
        "Expiration time for the GetSessionToken session (older spelling; env AWS_SESSION_TTL).",
      ),
    )
    .addOption(
      durationOption(
        "--assume-role-ttl <duration>",
        "Expiration time for the assumed role (env AWS_ASSUME_ROLE_TTL).",
      ),
    )
    .addOption(
      new Option("--stdout", "Print the SSO link to the terminal without opening the browser.")
        .default(false).env("AWS_VAULT_STDOUT"),
    );
}

function addGlobalOptions(cmd: Command, opts: { hidden: boolean }): void {
  const add = (o: Option, alwaysHidden = false) =>
    cmd.addOption(opts.hidden || alwaysHidden ? o.hideHelp() : o);
  add(new Option("--debug", "Show debugging output.").default(false));
  add(
    new Option("--backend <backend>", "Secret backend to use.").choices(BACKEND_NAMES).env(
      "AWS_VAULT_BACKEND",
    ),
  );
  add(
    new Option("--prompt <prompt>", "Prompt driver to use.").argParser(parsePromptName).env(
      "AWS_VAULT_PROMPT",
    ),
  );
  add(
    new Option(
      "--keychain <name>",
      "Name of macOS keychain to use, if it doesn't exist it will be created.",
    ).default("aws-vault").env("AWS_VAULT_KEYCHAIN_NAME"),
  );
  add(
    new Option(
      "--secret-service-collection <name>",
      "Name of secret-service collection to use, if it doesn't exist it will be created.",
    ).default("awsvault").env("AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME"),
  );
  add(
    new Option("--pass-dir <dir>", "Pass password store directory.").env(
      "AWS_VAULT_PASS_PASSWORD_STORE_DIR",
    ),
  );
  add(new Option("--pass-cmd <cmd>", "Name of the pass executable.").env("AWS_VAULT_PASS_CMD"));
  add(
    new Option("--pass-prefix <prefix>", "Prefix to prepend to the item path stored in pass.").env(
      "AWS_VAULT_PASS_PREFIX",
    ),
  );
  add(
    new Option("--passage-dir <dir>", "Passage password store directory.").env(
      "AWS_VAULT_PASSAGE_DIR",
    ),
  );
  add(
    new Option("--passage-cmd <cmd>", "Name of the passage executable.").env(
      "AWS_VAULT_PASSAGE_CMD",
    ),
  );
  add(
    new Option("--passage-prefix <prefix>", "Prefix to prepend to the item path stored in passage.")
      .env("AWS_VAULT_PASSAGE_PREFIX"),
  );
  add(
    new Option("--file-dir <dir>", 'Directory for the "file" password store.').default(
      "~/.awsvault/keys/",
    ).env("AWS_VAULT_FILE_DIR"),
  );
  add(
    new Option("--keyctl-scope <scope>", "Kernel keyring scope for the keyctl backend.")
      .choices(["user", "usersession", "session", "process", "thread"])
      .default("user")
      .env("AWS_VAULT_KEYCTL_SCOPE"),
  );
  // ByteNess's 1Password and Proton Pass backends: accepted for compatibility, not shown.
  add(
    durationOption("--op-timeout <duration>", "Timeout for 1Password API operations.").default(
      15_000,
      "15s",
    ).env("AWS_VAULT_OP_TIMEOUT"),
    true,
  );
  add(
    new Option("--op-vault-id <id>", "UUID of the 1Password vault.").env("AWS_VAULT_OP_VAULT_ID"),
    true,
  );
  add(
    new Option("--op-item-title-prefix <prefix>", "Prefix of 1Password item titles.").default(
      "aws-vault",
    ).env("AWS_VAULT_OP_ITEM_TITLE_PREFIX"),
    true,
  );
  add(
    new Option("--op-item-tag <tag>", "Tag of 1Password items.").default("aws-vault").env(
      "AWS_VAULT_OP_ITEM_TAG",
    ),
    true,
  );
  add(
    new Option("--op-connect-host <url>", "1Password Connect server.").env(
      "AWS_VAULT_OP_CONNECT_HOST",
    ),
    true,
  );
  add(
    new Option("--op-desktop-account-id <id>", "1Password desktop account.").env(
      "AWS_VAULT_OP_DESKTOP_ACCOUNT_ID",
    ),
    true,
  );
  add(
    new Option("--proton-pass-share-id <id>", "Proton Pass share ID.").env(
      "AWS_VAULT_PROTON_PASS_SHARE_ID",
    ),
    true,
  );
  add(
    new Option("--proton-pass-item-title-prefix <prefix>", "Proton Pass item title prefix.").env(
      "AWS_VAULT_PROTON_PASS_ITEM_TITLE_PREFIX",
    ),
    true,
  );
  add(
    new Option("--proton-pass-api-base <url>", "Proton Pass API base URL.").env(
      "AWS_VAULT_PROTON_PASS_API_BASE",
    ),
    true,
  );
  add(
    durationOption("--proton-pass-timeout <duration>", "Proton Pass API timeout.").env(
      "AWS_VAULT_PROTON_PASS_TIMEOUT",
    ),
    true,
  );
  add(
    new Option("--biometrics", "Use Touch ID to unlock the macOS keychain.").default(false).env(
      "AWS_VAULT_BIOMETRICS",
    ),
    true,
  );
}

/** An option whose value is a duration, parsed to milliseconds. */
function durationOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser((value: string) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      throw new InvalidArgumentError(`"${value}" is not a duration (use e.g. 90m, 12h or 3600s)`);
    }
    return ms;
  });
}

function parsePromptName(value: string): string {
  if (value === "pass") {
    throw new InvalidArgumentError(
      "the 'pass' prompt driver has been removed; use 'mfa_process = pass otp <your mfa_serial>' in ~/.aws/config",
    );
  }
  if (!(PROMPT_NAMES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${PROMPT_NAMES.join(", ")}`);
  }
  return value;
}

/**
 * Option values of a command and its ancestors. Global flags are declared on both, so the value
 * given on the command line (or by environment) wins over a default, wherever it was given.
 * (commander's optsWithGlobals lets an ancestor's default override a subcommand's flag.)
 */
// deno-lint-ignore no-explicit-any
export function mergedOptions(cmd: Command): Record<string, any> {
  const rank = (source: string | undefined) =>
    source === "cli" ? 3 : source === "env" ? 2 : source ? 1 : 0;
  // deno-lint-ignore no-explicit-any
  const merged: Record<string, any> = {};
  const ranks: Record<string, number> = {};
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.unshift(c);
  for (const c of chain) {
    for (const [key, value] of Object.entries(c.opts())) {
      const r = rank(c.getOptionValueSource(key));
      if (value !== undefined && r >= (ranks[key] ?? 0)) {
        merged[key] = value;
        ranks[key] = r;
      }
    }
  }
  return merged;
}

function context(cmd: Command, runtime: Runtime, log: DebugLogger): CommandContext {
  const o = mergedOptions(cmd);
  const options: GlobalOptions = {
    debug: Boolean(o.debug),
    backend: o.backend,
    prompt: o.prompt,
    keychain: o.keychain,
    secretServiceCollection: o.secretServiceCollection,
    passDir: o.passDir,
    passCmd: o.passCmd,
    passPrefix: o.passPrefix,
    passageDir: o.passageDir,
    passageCmd: o.passageCmd,
    passagePrefix: o.passagePrefix,
    fileDir: o.fileDir,
    keyctlScope: o.keyctlScope,
  };
  if (options.debug) log.enable();
  let services: Promise<Services> | undefined;
  const servicesOnce = () =>
    services ??= import("../vault/services.ts").then((m) => m.buildServices(runtime, options, log));
  return {
    runtime,
    options,
    log,
    services: servicesOnce,
    keyring: async () => (await servicesOnce()).keyring(),
  };
}

function longHelp(program: Command): string {
  const parts = [program.helpInformation()];
  for (const cmd of program.commands) {
    if ((cmd as unknown as { _hidden?: boolean })._hidden) continue;
    parts.push(`\n${"-".repeat(72)}\n${cmd.helpInformation()}`);
  }
  return parts.join("");
}

/**
 * `exec <profile> <cmd> <args...>`: everything from the command on belongs to the child, even
 * when it looks like one of our flags (`exec p aws s3 ls --region x`). This inserts `--` before
 * the command, using exec's own option table to know which flags take a value.
 */
export function splitExecArgs(program: Command, argv: string[]): string[] {
  const execCmd = program.commands.find((c) => c.name() === "exec");
  if (!execCmd) return argv;
  const takesValue = (cmd: Command, flag: string): boolean | undefined => {
    const opt = cmd.options.find((o) => o.long === flag || o.short === flag);
    return opt ? opt.required || opt.optional : undefined;
  };
  // Skip program-level options before the command name.
  let i = 0;
  while (i < argv.length && argv[i].startsWith("-") && argv[i] !== "--") {
    if (!argv[i].includes("=") && takesValue(program, argv[i])) i++;
    i++;
  }
  if (argv[i] !== "exec") return argv;
  let operands = 0;
  for (let j = i + 1; j < argv.length; j++) {
    const a = argv[j];
    if (a === "--") return argv;
    if (a.startsWith("-") && a.length > 1) {
      if (!a.includes("=") && (takesValue(execCmd, a) ?? takesValue(program, a))) j++;
      continue;
    }
    operands++;
    if (operands === 2) return [...argv.slice(0, j), "--", ...argv.slice(j)];
  }
  return argv;
}
