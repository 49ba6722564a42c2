/**
 * The command table: every command, flag, alias and environment variable of aws-vault (99designs
 * v7.2 and ByteNess v7.13), plus the older spellings of the usage guide, as data. The parser,
 * help, man page and shell completion read it; each command's implementation lives in its own
 * file, typed by its declaration here, and is imported only when that command runs.
 *
 * A flag or command marked `notBuilt` is accepted by the table and documented as not built yet;
 * using it is an error (exit 1) until the branch that builds it removes the mark.
 */
import { BACKEND_NAMES, UNSUPPORTED_BACKENDS } from "../../backends/names.ts";
import { EXPORT_FORMATS } from "../exec/names.ts";
import { PROMPT_NAMES, UNSERVABLE_PROMPTS } from "../prompt/names.ts";
import type { CommandContext } from "./global.ts";
import { arg, command, type CommandSpec, flag, runs } from "./spec.ts";

/** The version printed by `--version`, `-v` and `version` (one place: lib/version.ts). */
export { VERSION } from "../version.ts";
import { VERSION } from "../version.ts";

/** The program's name in help, man page and completion. */
export const PROGRAM = "aws-vault";

/** kingpin's built-in flags: help, version, man page and completion. */
export const BUILTIN_FLAGS = {
  help: flag.bool("help", "Show context-sensitive help (also try --help-long and --help-man).", {
    negatable: false,
  }),
  helpLong: flag.bool("help-long", "Generate long help.", { hidden: true, negatable: false }),
  helpMan: flag.bool("help-man", "Generate a man page.", { hidden: true, negatable: false }),
  version: flag.bool("version", "Show application version.", { short: "v", negatable: false }),
  completionBash: flag.bool("completion-bash", "Output possible completions for the given args.", {
    hidden: true,
    negatable: false,
  }),
  completionScriptBash: flag.bool(
    "completion-script-bash",
    "Generate completion script for bash.",
    {
      hidden: true,
    },
  ),
  completionScriptZsh: flag.bool("completion-script-zsh", "Generate completion script for ZSH.", {
    hidden: true,
    negatable: false,
  }),
};

const OP_BACKENDS = "(1Password backends: not in this build)";
const PROTON_BACKEND = "(Proton Pass backend: not in this build)";

/** Flags every command accepts (before or after its name): backend and prompt selection. */
export const GLOBAL_FLAGS = {
  debug: flag.bool("debug", "Show debugging output."),
  backend: flag.choice("backend", "Secret backend to use.", BACKEND_NAMES, {
    env: "AWS_VAULT_BACKEND",
    unservable: UNSUPPORTED_BACKENDS,
  }),
  prompt: flag.choice("prompt", "Prompt driver to use.", PROMPT_NAMES, {
    env: "AWS_VAULT_PROMPT",
    unservable: UNSERVABLE_PROMPTS,
    check: (raw) => {
      if (raw === "pass") {
        throw new Error(
          "the 'pass' prompt driver has been removed; use 'mfa_process = pass otp <your mfa_serial>' in ~/.aws/config",
        );
      }
    },
  }),
  keychain: flag.text(
    "keychain",
    "Name of macOS keychain to use, if it doesn't exist it will be created.",
    "aws-vault",
    { env: "AWS_VAULT_KEYCHAIN_NAME", placeholder: "NAME" },
  ),
  secretServiceCollection: flag.text(
    "secret-service-collection",
    "Name of secret-service collection to use, if it doesn't exist it will be created.",
    "awsvault",
    { env: "AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME", placeholder: "NAME" },
  ),
  passDir: flag.string("pass-dir", "Pass password store directory.", {
    env: "AWS_VAULT_PASS_PASSWORD_STORE_DIR",
  }),
  passCmd: flag.string("pass-cmd", "Name of the pass executable.", { env: "AWS_VAULT_PASS_CMD" }),
  passPrefix: flag.string("pass-prefix", "Prefix to prepend to the item path stored in pass.", {
    env: "AWS_VAULT_PASS_PREFIX",
  }),
  passageDir: flag.string("passage-dir", "Passage password store directory.", {
    env: "AWS_VAULT_PASSAGE_DIR",
  }),
  passageCmd: flag.string("passage-cmd", "Name of the passage executable.", {
    env: "AWS_VAULT_PASSAGE_CMD",
  }),
  passagePrefix: flag.string(
    "passage-prefix",
    "Prefix to prepend to the item path stored in passage.",
    { env: "AWS_VAULT_PASSAGE_PREFIX" },
  ),
  fileDir: flag.text("file-dir", 'Directory for the "file" password store.', "~/.awsvault/keys/", {
    env: "AWS_VAULT_FILE_DIR",
  }),
  kwalletFolder: flag.text(
    "kwallet-folder",
    'Folder of the "aws-vault" KDE wallet for the kwallet backend.',
    "aws-vault",
    { env: "AWS_VAULT_KWALLET_FOLDER", placeholder: "NAME" },
  ),
  keyctlScope: flag.choiceWithDefault(
    "keyctl-scope",
    "Kernel keyring scope for the keyctl backend.",
    ["user", "usersession", "session", "process", "thread"],
    "user",
    { env: "AWS_VAULT_KEYCTL_SCOPE" },
  ),
  opTimeout: flag.durationWithDefault(
    "op-timeout",
    "Timeout of each run of op, the 1Password CLI.",
    15_000,
    { env: "AWS_VAULT_OP_TIMEOUT" },
  ),
  opVaultId: flag.string(
    "op-vault-id",
    "UUID of the 1Password vault (default: $OP_VAULT_ID).",
    { env: "AWS_VAULT_OP_VAULT_ID" },
  ),
  opItemTitlePrefix: flag.text(
    "op-item-title-prefix",
    "Prefix of 1Password item titles.",
    "aws-vault",
    { env: "AWS_VAULT_OP_ITEM_TITLE_PREFIX" },
  ),
  opItemTag: flag.text("op-item-tag", "Tag of 1Password items.", "aws-vault", {
    env: "AWS_VAULT_OP_ITEM_TAG",
  }),
  opConnectHost: flag.string("op-connect-host", `1Password Connect server ${OP_BACKENDS}.`, {
    env: "AWS_VAULT_OP_CONNECT_HOST",
    hidden: true,
  }),
  opDesktopAccountId: flag.string(
    "op-desktop-account-id",
    `1Password desktop app account ${OP_BACKENDS}.`,
    { env: "AWS_VAULT_OP_DESKTOP_ACCOUNT_ID", hidden: true },
  ),
  protonPassShareId: flag.string(
    "proton-pass-share-id",
    `Proton Pass share ID ${PROTON_BACKEND}.`,
    {
      env: "AWS_VAULT_PROTON_PASS_SHARE_ID",
      hidden: true,
    },
  ),
  protonPassItemTitlePrefix: flag.string(
    "proton-pass-item-title-prefix",
    `Proton Pass item title prefix ${PROTON_BACKEND}.`,
    { env: "AWS_VAULT_PROTON_PASS_ITEM_TITLE_PREFIX", hidden: true },
  ),
  protonPassApiBase: flag.string(
    "proton-pass-api-base",
    `Proton Pass API base URL ${PROTON_BACKEND}.`,
    { env: "AWS_VAULT_PROTON_PASS_API_BASE", hidden: true },
  ),
  protonPassTimeout: flag.duration(
    "proton-pass-timeout",
    `Proton Pass API timeout ${PROTON_BACKEND}.`,
    { env: "AWS_VAULT_PROTON_PASS_TIMEOUT", hidden: true },
  ),
  biometrics: flag.bool("biometrics", "Use Touch ID to unlock the macOS keychain.", {
    env: "AWS_VAULT_BIOMETRICS",
    notBuilt: true,
  }),
};

const PROFILE_HELP = "Name of the profile";
const PROFILE_OR_ENV_HELP = "Name of the profile (default: $AWS_PROFILE)";

/**
 * How `exec`, `export` and `login` get credentials. The TTL environment variables
 * (AWS_SESSION_TTL, AWS_ASSUME_ROLE_TTL...) are read by lib/config, which knows their
 * precedence and reports their origin; so the TTL flags here have no `env`.
 */
export const CREDENTIAL_FLAGS = {
  duration: flag.duration("duration", "Duration of the temporary or assume-role session.", {
    short: "d",
    env: "AWS_VAULT_DURATION",
  }),
  noSession: flag.bool("no-session", "Skip creating STS session with GetSessionToken.", {
    short: "n",
  }),
  region: flag.string("region", "The AWS region."),
  mfaToken: flag.string("mfa-token", "The MFA token to use.", { short: "t", placeholder: "CODE" }),
  stdout: flag.bool(
    "stdout",
    "Print the SSO link to the terminal without automatically opening the browser.",
    { env: "AWS_VAULT_STDOUT" },
  ),
  useDeviceCode: flag.bool(
    "use-device-code",
    "Sign in to SSO with the device-code flow (no local browser redirect).",
  ),
  ssoSync: flag.bool(
    "sso-sync",
    "SSO: also write the token to the AWS CLI's ~/.aws/sso/cache for tools that read it.",
  ),
  sessionTtl: flag.duration(
    "session-ttl",
    "Expiration time for the GetSessionToken session (older spelling; env AWS_SESSION_TTL).",
  ),
  assumeRoleTtl: flag.duration(
    "assume-role-ttl",
    "Expiration time for the assumed role (env AWS_ASSUME_ROLE_TTL).",
  ),
  federationTokenTtl: flag.duration(
    "federation-token-ttl",
    "Expiration time for the federated console session (env AWS_FEDERATION_TOKEN_TTL).",
  ),
};

/** `help [<command>...]` */
export const HELP = command({
  name: "help",
  help: "Show help.",
  flags: {},
  args: { command: arg.rest("command", "Show help on command.") },
});

/** `version` */
export const VERSION_COMMAND = command({
  name: "version",
  help: "Show application version.",
  flags: {},
  args: {},
});

/** `add <profile>` */
export const ADD = command({
  name: "add",
  help: "Add credentials to the secure keystore.",
  flags: {
    env: flag.bool("env", "Read the credentials from the environment (AWS_ACCESS_KEY_ID)."),
    addConfig: flag.bool("add-config", "Add a profile to ~/.aws/config if one doesn't exist.", {
      initial: true,
    }),
  },
  args: { profile: arg.required("profile", PROFILE_HELP, { complete: "profile" }) },
});

/** `remove <profile>` */
export const REMOVE = command({
  name: "remove",
  aliases: ["rm"],
  help: "Remove credentials from the secure keystore.",
  flags: {
    force: flag.bool("force", "Force-remove the profile without a prompt.", { short: "f" }),
    sessionsOnly: flag.bool("sessions-only", "Only remove sessions, leave credentials intact.", {
      short: "s",
      hidden: true,
    }),
  },
  args: { profile: arg.required("profile", PROFILE_HELP, { complete: "profile" }) },
});

/** `list` */
export const LIST = command({
  name: "list",
  aliases: ["ls"],
  help: "List profiles, along with their credentials and sessions.",
  flags: {
    profiles: flag.bool("profiles", "Show only the profile names."),
    sessions: flag.bool("sessions", "Show only the session names."),
    credentials: flag.bool("credentials", "Show only the profiles with stored credential."),
    json: flag.bool("json", "Print profiles, credentials and sessions as JSON."),
  },
  args: {},
});

/** `profile <profile>` */
export const PROFILE = command({
  name: "profile",
  help: "Show how a profile resolves: each value's origin and the source chain.",
  flags: {
    json: flag.bool("json", "Print as JSON."),
    duration: CREDENTIAL_FLAGS.duration,
    noSession: CREDENTIAL_FLAGS.noSession,
    region: CREDENTIAL_FLAGS.region,
  },
  args: { profile: arg.required("profile", PROFILE_HELP, { complete: "profile" }) },
});

/** `exec [<profile>] [<cmd>] [<args>...]` */
export const EXEC = command({
  name: "exec",
  help: "Execute a command with AWS credentials.",
  records: true,
  flags: {
    ...CREDENTIAL_FLAGS,
    json: flag.bool(
      "json",
      "Output credentials in JSON that can be used by credential_process.",
      { short: "j", hidden: true },
    ),
    server: flag.bool("server", "Alias for --ecs-server.", { short: "s" }),
    ecsServer: flag.bool(
      "ecs-server",
      "Run a ECS credential server in the background for credentials (the SDK or app must support AWS_CONTAINER_CREDENTIALS_FULL_URI).",
    ),
    ec2Server: flag.bool(
      "ec2-server",
      "Run a EC2 metadata server in the background for credentials.",
    ),
    lazy: flag.bool("lazy", "When using --ecs-server, lazily fetch credentials."),
    allProfiles: flag.bool(
      "all-profiles",
      "When using --ecs-server, serve credentials of every configured profile.",
    ),
    profileEnv: flag.bool(
      "profile-env",
      "Set AWS_PROFILE in the child instead of the credential variables.",
      { env: "AWS_VAULT_PROFILE_ENV" },
    ),
  },
  args: {
    profile: arg.optional("profile", PROFILE_OR_ENV_HELP, { complete: "profile" }),
    cmd: arg.optional("cmd", "Command to execute, defaults to $SHELL", { verbatim: true }),
    args: arg.rest("args", "Command arguments"),
  },
});

/** `export [<profile>]` */
export const EXPORT = command({
  name: "export",
  help: "Export AWS credentials.",
  records: true,
  flags: {
    ...CREDENTIAL_FLAGS,
    format: flag.choiceWithDefault(
      "format",
      "Format to output credentials.",
      EXPORT_FORMATS,
      "env",
    ),
  },
  args: { profile: arg.optional("profile", PROFILE_OR_ENV_HELP, { complete: "profile" }) },
});

/** `clear [<profile>]` */
export const CLEAR = command({
  name: "clear",
  help: "Clear temporary credentials from the secure keystore.",
  flags: {},
  args: { profile: arg.optional("profile", PROFILE_HELP, { complete: "profile" }) },
});

/** `login [<profile>]` */
export const LOGIN = command({
  name: "login",
  help: "Generate a login link for the AWS Console.",
  flags: {
    ...CREDENTIAL_FLAGS,
    stdout: flag.bool(
      "stdout",
      "Print login URL to stdout instead of opening in default browser.",
      { short: "s", env: "AWS_VAULT_STDOUT" },
    ),
    path: flag.string("path", "The AWS service you would like access."),
    autoLogout: flag.bool("auto-logout", "Log out of any existing console session first.", {
      short: "a",
      env: "AWS_VAULT_AUTO_LOGOUT",
    }),
    browser: flag.string(
      "browser",
      "Command that opens the login URL (it replaces {url} or, encoded, {urlencoded}; else it is appended).",
      { env: "AWS_VAULT_BROWSER", placeholder: "TEMPLATE" },
    ),
  },
  args: { profile: arg.optional("profile", PROFILE_OR_ENV_HELP, { complete: "profile" }) },
});

/** `rotate [<profile>]` */
export const ROTATE = command({
  name: "rotate",
  help: "Rotate credentials.",
  flags: {
    noSession: flag.bool("no-session", "Use master credentials, no session or role used.", {
      short: "n",
    }),
  },
  args: { profile: arg.optional("profile", PROFILE_OR_ENV_HELP, { complete: "profile" }) },
});

/** `migrate-backend --from X --to Y` */
export const MIGRATE_BACKEND = command({
  name: "migrate-backend",
  help: "Copy stored credentials from one backend to another.",
  flags: {
    from: flag.requiredChoice("from", "Backend to copy from.", BACKEND_NAMES, {
      unservable: UNSUPPORTED_BACKENDS,
      placeholder: "BACKEND",
    }),
    to: flag.requiredChoice("to", "Backend to copy to.", BACKEND_NAMES, {
      unservable: UNSUPPORTED_BACKENDS,
      placeholder: "BACKEND",
    }),
    profile: flag.string("profile", "Only migrate this profile's credentials.", {
      complete: "profile",
    }),
    dryRun: flag.bool("dry-run", "Show what would be copied without writing anything."),
    overwrite: flag.bool(
      "overwrite",
      "Overwrite credentials that already exist in the destination.",
    ),
    deleteSource: flag.bool(
      "delete-source",
      "Delete each credential from the source after a verified copy.",
    ),
  },
  args: {},
});

/** `proxy` (alias `server`): the EC2 metadata proxy `exec --ec2-server` starts. */
export const PROXY = command({
  name: "proxy",
  aliases: ["server"],
  help: "Start a proxy for the EC2 instance metadata service.",
  hidden: true,
  flags: { stop: flag.bool("stop", "Stop the proxy.") },
  args: {},
});

/** The shells `completion` writes scripts for. */
export const COMPLETION_SHELLS = ["bash", "zsh", "fish"] as const;

/** `completion bash|zsh|fish` */
export const COMPLETION = command({
  name: "completion",
  help: "Print a shell completion script (bash, zsh or fish).",
  flags: {},
  args: { shell: arg.requiredChoice("shell", "The shell: bash, zsh or fish.", COMPLETION_SHELLS) },
});

/** `agent start`: the credential agent (lib/agent). */
export const AGENT_START = command({
  name: "start",
  help: "Ask the vault passphrase once and keep serving it in the background.",
  flags: {
    timeout: flag.duration("timeout", "Exit after this long (0: never; default 8h)."),
    idle: flag.duration("idle", "Lock after this long unused (0: never; default 1h)."),
    foreground: flag.bool("foreground", "Serve in this process (for a systemd user unit)."),
    locked: flag.bool("locked", "Start locked: the first command that needs the vault asks."),
    daemonChild: flag.bool("daemon-child", "This process is the detached agent.", {
      hidden: true,
    }),
  },
  args: {},
});

/** `agent stop` */
export const AGENT_STOP = command({
  name: "stop",
  help: "Stop the agent; it forgets the passphrase.",
  flags: {},
  args: {},
});

/** `agent status` */
export const AGENT_STATUS = command({
  name: "status",
  help: "Say whether an agent runs, since when, and when it locks.",
  flags: {},
  args: {},
});

/** `agent lock` */
export const AGENT_LOCK = command({
  name: "lock",
  help: "Make the agent forget the passphrase; it keeps running.",
  flags: {},
  args: {},
});

/** `agent start|stop|status|lock` */
export const AGENT: CommandSpec<CommandContext> = {
  name: "agent",
  help: "Run a credential agent that holds the file vault open (unlock once).",
  flags: {},
  args: {},
  subcommands: [
    runs(
      AGENT_START,
      async (ctx: CommandContext, { options }) =>
        (await import("./agent.ts")).agentStartCommand(ctx, options),
    ),
    runs(
      AGENT_STOP,
      async (ctx: CommandContext) => (await import("./agent.ts")).agentStopCommand(ctx),
    ),
    runs(
      AGENT_STATUS,
      async (ctx: CommandContext) => (await import("./agent.ts")).agentStatusCommand(ctx),
    ),
    runs(
      AGENT_LOCK,
      async (ctx: CommandContext) => (await import("./agent.ts")).agentLockCommand(ctx),
    ),
  ],
};

/** The program: global flags and every command. */
export const ROOT: CommandSpec<CommandContext> = {
  name: PROGRAM,
  help: "A vault for securely storing and accessing AWS credentials in development environments.",
  flags: { ...BUILTIN_FLAGS, ...GLOBAL_FLAGS },
  args: {},
  subcommands: [
    runs(
      HELP,
      async (ctx: CommandContext, { args }) =>
        (await import("./help.ts")).helpCommand(ctx, args.command),
    ),
    runs(VERSION_COMMAND, (ctx: CommandContext) => {
      ctx.runtime.stdout(`${VERSION}\n`);
      return Promise.resolve(0);
    }),
    runs(
      ADD,
      async (ctx: CommandContext, input) => (await import("./add.ts")).addCommand(ctx, input),
    ),
    runs(
      REMOVE,
      async (ctx: CommandContext, input) => (await import("./remove.ts")).removeCommand(ctx, input),
    ),
    runs(
      LIST,
      async (ctx: CommandContext, input) => (await import("./list.ts")).listCommand(ctx, input),
    ),
    runs(
      PROFILE,
      async (ctx: CommandContext, input) =>
        (await import("./profile.ts")).profileCommand(ctx, input),
    ),
    runs(
      ROTATE,
      async (ctx: CommandContext, input) => (await import("./rotate.ts")).rotateCommand(ctx, input),
    ),
    runs(
      EXEC,
      async (ctx: CommandContext, input) => (await import("./exec.ts")).execCommand(ctx, input),
    ),
    runs(
      EXPORT,
      async (ctx: CommandContext, input) => (await import("./export.ts")).exportCommand(ctx, input),
    ),
    runs(
      CLEAR,
      async (ctx: CommandContext, input) => (await import("./clear.ts")).clearCommand(ctx, input),
    ),
    runs(
      LOGIN,
      async (ctx: CommandContext, input) => (await import("./login.ts")).loginCommand(ctx, input),
    ),
    runs(
      MIGRATE_BACKEND,
      async (ctx: CommandContext, input) =>
        (await import("./migrate_backend.ts")).migrateBackendCommand(ctx, input),
    ),
    runs(
      PROXY,
      async (ctx: CommandContext, input) => (await import("./proxy.ts")).proxyCommand(ctx, input),
    ),
    AGENT,
    runs(
      COMPLETION,
      async (ctx: CommandContext, { args }) =>
        (await import("./completion.ts")).completionCommand(ctx, args.shell),
    ),
  ],
};
