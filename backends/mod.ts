/**
 * Backend selection: `--backend`/`AWS_VAULT_BACKEND`, else the best available backend for this
 * OS (Keychain on macOS, Secret Service on Linux, the file backend everywhere), falling back down
 * the list with a one-line notice (aws-vault never falls back; see the reference, section 11).
 * An explicitly chosen backend that is unavailable is an error, never a silent fallback.
 */
import { UserError } from "../lib/errors.ts";
import { type Logger, SILENT_LOGGER } from "../lib/logger.ts";
import { expandHome, type Runtime } from "../lib/runtime.ts";
import type { Keyring } from "./keyring.ts";
import type { ItemCrypto } from "./file.ts";
import { lookPath } from "../lib/process/path_lookup.ts";
import { type BackendName, UNSUPPORTED_BACKENDS } from "./names.ts";

export { BACKEND_NAMES, UNSUPPORTED_BACKENDS } from "./names.ts";

/** What selects and configures a backend (the global flags and their environment variables). */
export interface BackendOptions {
  /** `--backend`/`AWS_VAULT_BACKEND`; undefined means "pick the best available". */
  backend?: string;
  keychain: string;
  secretServiceCollection: string;
  passDir?: string;
  passCmd?: string;
  passPrefix?: string;
  /** passage: `--passage-dir` (else PASSAGE_DIR, else ~/.passage/store), `-cmd`, `-prefix`. */
  passageDir?: string;
  passageCmd?: string;
  passagePrefix?: string;
  fileDir: string;
  /** kwallet: the folder of the `aws-vault` wallet (`--kwallet-folder`); default `aws-vault`. */
  kwalletFolder?: string;
  /** keyctl keyring scope (aws-vault never sets one; we default to `user`). */
  keyctlScope: string;
  /** op (1Password CLI): the vault (else OP_VAULT_ID), title prefix, tag, per-run deadline. */
  opVaultId?: string;
  opItemTitlePrefix?: string;
  opItemTag?: string;
  opTimeout?: number;
  /**
   * Names of the config's profiles: pass reads prefix-less root entries only under these names
   * (the caller loads the config; backends know nothing of it). Default: none.
   */
  profileNames?: () => Promise<Set<string>>;
  /** The file backend's encryption for its vault directory: a running credential agent. */
  fileCrypto?: (dir: string) => Promise<ItemCrypto | undefined>;
}

/** One backend this build supports. */
export interface BackendFactory {
  /** `--backend` name. */
  name: string;
  /**
   * Why this backend cannot be used here, or undefined when it can. `choice.explicit`: the user
   * named this backend (it may then be started on demand); else it is the automatic choice.
   */
  unavailable(
    options: BackendOptions,
    runtime: Runtime,
    choice?: { explicit: boolean },
  ): Promise<string | undefined>;
  /** Opens the backend. */
  open(options: BackendOptions, runtime: Runtime, log: Logger): Promise<Keyring>;
  /**
   * Whether a user on this machine would expect this backend as the default, so skipping it
   * deserves a notice. Absent: always expected. (No session bus at all is a headless machine,
   * where the file backend is the normal default, not a fallback worth a line on every run.)
   */
  expected?(runtime: Runtime): boolean;
}

const fileBackend: BackendFactory = {
  name: "file",
  unavailable: () => Promise.resolve(undefined),
  open: async (options, runtime, log) => {
    const { openFileKeyring } = await import("./file.ts");
    return openFileKeyring(options, runtime, log);
  },
};

/** `pass` or `passage`: the same backend over gpg or age. */
function passFamilyBackend(
  name: "pass" | "passage",
  settings: (options: BackendOptions, runtime: Runtime) => {
    cmd?: string;
    dir: string;
    prefix?: string;
  },
): BackendFactory {
  return {
    name,
    unavailable: async (options, runtime) => {
      const cmd = settings(options, runtime).cmd || name;
      const found = await lookPath(cmd, runtime.env.get("PATH"));
      return found ? undefined : `'${cmd}' is not installed (not found on PATH)`;
    },
    open: async (options, runtime) => {
      const { openPassKeyring, PASS, PASSAGE } = await import("./pass.ts");
      const { cmd, dir, prefix } = settings(options, runtime);
      return openPassKeyring({
        flavour: name === "pass" ? PASS : PASSAGE,
        storeDir: expandHome(dir, () => runtime.homeDir()),
        passCmd: cmd || name,
        prefix,
        profileNames: options.profileNames,
      });
    },
  };
}

const passBackend = passFamilyBackend("pass", (options, runtime) => ({
  cmd: options.passCmd,
  dir: options.passDir || runtime.env.get("PASSWORD_STORE_DIR") || "~/.password-store",
  prefix: options.passPrefix,
}));

// ByteNess's passage backend reads the pass settings (`--pass-dir`, `--pass-cmd`,
// `--pass-prefix` and their variables); our `--passage-*` ones, when given, come first.
const passageBackend = passFamilyBackend("passage", (options, runtime) => ({
  cmd: options.passageCmd || options.passCmd,
  dir: options.passageDir || options.passDir || runtime.env.get("PASSAGE_DIR") ||
    "~/.passage/store",
  // Given empty, `--passage-prefix=` is the store's root (an empty variable is unset).
  prefix: options.passagePrefix ?? options.passPrefix,
}));

const secretServiceBackend: BackendFactory = {
  name: "secret-service",
  expected: (runtime) => Boolean(runtime.env.get("DBUS_SESSION_BUS_ADDRESS")),
  unavailable: async (_options, runtime) => {
    if (runtime.os !== "linux" && runtime.os !== "freebsd") return "only on Linux and BSD";
    const { secretServiceUnavailable } = await import("./secret_service.ts");
    return secretServiceUnavailable(runtime.env.toObject());
  },
  open: async (options, runtime) => {
    const { openSecretServiceKeyring } = await import("./secret_service.ts");
    return openSecretServiceKeyring({
      collection: options.secretServiceCollection,
      env: runtime.env.toObject(),
    });
  },
};

const kwalletBackend: BackendFactory = {
  name: "kwallet",
  // A notice when skipped only on a KDE desktop, where the user would expect KWallet.
  expected: (runtime) => /KDE/i.test(runtime.env.get("XDG_CURRENT_DESKTOP") ?? ""),
  unavailable: async (_options, runtime, choice) => {
    if (runtime.os !== "linux" && runtime.os !== "freebsd") return "only on Linux and BSD";
    // aws-vault's switch, decided without loading the D-Bus client.
    if (runtime.env.get("DISABLE_KWALLET") === "1") return "disabled by DISABLE_KWALLET=1";
    const { kwalletUnavailable } = await import("./kwallet.ts");
    return kwalletUnavailable(runtime.env.toObject(), { activate: choice?.explicit ?? true });
  },
  open: async (options, runtime) => {
    const { openKwalletKeyring } = await import("./kwallet.ts");
    return openKwalletKeyring({ folder: options.kwalletFolder, env: runtime.env.toObject() });
  },
};

const keyctlBackend: BackendFactory = {
  name: "keyctl",
  unavailable: async (_options, runtime) => {
    if (runtime.os !== "linux") return "the kernel keyring exists only on Linux";
    const found = await lookPath("keyctl", runtime.env.get("PATH"));
    return found ? undefined : "'keyctl' is not installed (Debian/Ubuntu package keyutils)";
  },
  open: async (options, runtime) => {
    const { openKeyctlKeyring } = await import("./keyctl.ts");
    const [{ lockDir }, { withLock }] = await Promise.all([
      import("../lib/fs/lock_dir.ts"),
      import("../lib/fs/lock.ts"),
    ]);
    const lockPath = `${lockDir(runtime)}/keyctl-${options.keyctlScope}.lock`;
    return openKeyctlKeyring({
      scope: options.keyctlScope,
      lock: (fn) => withLock(lockPath, fn, { timeoutMs: 30_000 }),
    });
  },
};

const keychainBackend: BackendFactory = {
  name: "keychain",
  unavailable: async (_options, runtime) => {
    if (runtime.os !== "darwin") return "the macOS Keychain exists only on macOS";
    const { SECURITY_PATH } = await import("./keychain.ts");
    const found = await lookPath(SECURITY_PATH, undefined);
    return found ? undefined : `${SECURITY_PATH} is missing`;
  },
  open: async (options, runtime) => {
    const { openKeychainKeyring } = await import("./keychain.ts");
    return openKeychainKeyring({ keychain: options.keychain, home: runtime.homeDir() });
  },
};

/** 1Password through its CLI; the service-account token goes to `op`'s environment only. */
const opBackend: BackendFactory = {
  name: "op",
  unavailable: async (_options, runtime) => {
    const found = await lookPath("op", runtime.env.get("PATH"));
    return found ? undefined : "'op' (the 1Password CLI) is not installed (not found on PATH)";
  },
  open: async (options, runtime) => {
    const vaultId = options.opVaultId || runtime.env.get("OP_VAULT_ID");
    if (!vaultId) {
      throw new UserError(
        "the op backend needs a 1Password vault: --op-vault-id (or AWS_VAULT_OP_VAULT_ID, or OP_VAULT_ID)",
      );
    }
    const { openOpKeyring } = await import("./op.ts");
    const [{ lockDir }, { withLock }] = await Promise.all([
      import("../lib/fs/lock_dir.ts"),
      import("../lib/fs/lock.ts"),
    ]);
    const lockPath = `${lockDir(runtime)}/op-${encodeURIComponent(vaultId)}.lock`;
    return openOpKeyring({
      vaultId,
      titlePrefix: options.opItemTitlePrefix,
      tag: options.opItemTag,
      timeoutMs: options.opTimeout,
      cmd: await lookPath("op", runtime.env.get("PATH")),
      token: runtime.env.get("AWS_VAULT_OP_SERVICE_ACCOUNT_TOKEN") ||
        runtime.env.get("OP_SERVICE_ACCOUNT_TOKEN"),
      env: runtime.env.toObject(),
      lock: (fn) => withLock(lockPath, fn, { timeoutMs: 60_000 }),
    });
  },
};

/** Every backend this build supports. */
export const BACKENDS: BackendFactory[] = [
  keychainBackend,
  secretServiceBackend,
  kwalletBackend,
  keyctlBackend,
  passBackend,
  passageBackend,
  fileBackend,
  opBackend,
];

/** Backends tried, in order, when none is chosen. */
export function defaultOrder(os: typeof Deno.build.os): string[] {
  if (os === "darwin") return ["keychain", "file"];
  if (os === "linux" || os === "freebsd") return ["secret-service", "kwallet", "file"];
  return ["file"];
}

/** The factory for a backend name; a UserError for names this build does not have. */
export function backendFactory(name: string): BackendFactory {
  const factory = BACKENDS.find((b) => b.name === name);
  if (factory) return factory;
  if (UNSUPPORTED_BACKENDS.some((n: BackendName) => n === name)) {
    throw new UserError(`backend '${name}' is not supported by this build`);
  }
  throw new UserError(`unknown backend '${name}'`);
}

/** Opens one named backend; an unavailable backend is a UserError naming the reason. */
export async function openBackend(
  name: string,
  options: BackendOptions,
  runtime: Runtime,
  log: Logger = SILENT_LOGGER,
): Promise<Keyring> {
  const factory = backendFactory(name);
  const why = await factory.unavailable(options, runtime, { explicit: true });
  if (why) throw new UserError(`backend '${name}' is not available: ${why}`);
  return factory.open(options, runtime, log);
}

/** Opens the keyring the options select. */
export async function openKeyring(
  options: BackendOptions,
  runtime: Runtime,
  log: Logger = SILENT_LOGGER,
): Promise<Keyring> {
  if (options.backend) return openBackend(options.backend, options, runtime, log);
  const order = defaultOrder(runtime.os);
  const skipped: string[] = [];
  for (const name of order) {
    const factory = backendFactory(name);
    const why = await factory.unavailable(options, runtime, { explicit: false });
    if (why === undefined) {
      if (skipped.length > 0) {
        runtime.stderr(
          `aws-vault: using the ${name} backend because ${skipped.join("; ")} ` +
            `(choose one with --backend or AWS_VAULT_BACKEND)\n`,
        );
      }
      return factory.open(options, runtime, log);
    }
    log.debug(`backend ${name} skipped: ${why}`);
    if (factory.expected?.(runtime) ?? true) skipped.push(`${name} is unavailable: ${why}`);
  }
  throw new UserError("no keyring backend is available");
}
