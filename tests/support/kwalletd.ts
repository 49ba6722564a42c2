/**
 * A real kwalletd5 (Debian libkf5wallet-bin) on a private session bus, headless, for tests.
 *
 * kwalletd asks for a new wallet's password in a GUI dialog, which nobody can answer here
 * (QT_QPA_PLATFORM=offscreen: the dialog exists but never closes). kwalletd's `pamOpen(wallet,
 * passwordHash, timeout)` (the method pam_kwallet uses at login) creates a missing wallet with
 * that pre-hashed key and opens it without any dialog; after that, `open` from any application
 * succeeds without a dialog ("Prompt on Open" is off by default). Restarting kwalletd and calling
 * pamOpen with the same hash unlocks the same wallet file again.
 *
 * The bus (tests/support/private_bus.ts) has no service directory of the system's, so no daemon
 * is started on demand unless a test asks for it (`activatable`). Test-side calls go through busctl,
 * a client independent of ours.
 */
import { commandWorks, type Peer, requirePeers } from "./peers.ts";
import { startPrivateBus } from "./private_bus.ts";

/** dbus-daemon, kwalletd5 and busctl. */
export const KWALLETD: Peer = {
  name: "kwalletd5",
  probe: async () => {
    for (
      const [cmd, args] of [
        ["dbus-daemon", ["--version"]],
        // kwalletd5 has no harmless --version (it needs a bus): finding it is the probe.
        ["sh", ["-c", "command -v kwalletd5"]],
        ["busctl", ["--version"]],
      ] as const
    ) {
      const why = await commandWorks(cmd, [...args])();
      if (why) return why;
    }
    return undefined;
  },
};

/** The 56-byte key kwalletd's pamOpen takes (a PBKDF2 hash in real life; any bytes will do). */
const WALLET_KEY = Array.from({ length: 56 }, (_, i) => String((i * 37 + 11) % 256));

/** How to start the daemon. */
export interface KwalletdOptions {
  /** Wallets to create and open (pamOpen) once kwalletd runs. Default `["aws-vault"]`. */
  wallets?: string[];
  /** Lines of kwalletrc (e.g. `[Auto Deny]`, `aws-vault=aws-vault`). */
  kwalletrc?: string[];
  /** Do not start kwalletd at all (only the bus). */
  noDaemon?: boolean;
  /** Let the bus start kwalletd5 on demand (a service file in the bus's own service dir). */
  activatable?: boolean;
}

/** A running bus (+ kwalletd). */
export interface Kwalletd {
  /** Environment for clients: DBUS_SESSION_BUS_ADDRESS. */
  env: Record<string, string>;
  /** The daemon's process id (undefined with `noDaemon` or after stop). */
  pid(): number | undefined;
  /** Calls org.kde.KWallet on kwalletd5 through busctl; returns busctl's output line. */
  busctl(member: string, signature: string, ...args: string[]): Promise<string>;
  /** Sends a signal to kwalletd (SIGSTOP to hang it, SIGKILL to crash it). */
  signal(sig: Deno.Signal): void;
  /** Opens (creating if missing) a wallet without a dialog, as pam_kwallet does. */
  unlock(wallet: string): Promise<void>;
  /** Kills kwalletd (SIGKILL) and starts a new one on the same bus and files, wallets unlocked. */
  restart(): Promise<void>;
  /** The wallet file's path. */
  walletFile(name: string): string;
  /** Stops kwalletd and the bus, removes the temp HOME. */
  cleanup(): Promise<void>;
}

const decoder = new TextDecoder();

/** Starts a private bus and a headless kwalletd5 with unlocked wallets. */
export async function startKwalletd(options: KwalletdOptions = {}): Promise<Kwalletd> {
  await requirePeers(KWALLETD);
  const home = await Deno.makeTempDir({ prefix: "awsvault-kwallet-" });
  for (const dir of ["run", "config", "data", "services"]) {
    await Deno.mkdir(`${home}/${dir}`, { mode: 0o700 });
  }
  if (options.kwalletrc) {
    await Deno.writeTextFile(`${home}/config/kwalletrc`, options.kwalletrc.join("\n") + "\n");
  }
  const daemonEnv = {
    HOME: home,
    XDG_CONFIG_HOME: `${home}/config`,
    XDG_DATA_HOME: `${home}/data`,
    XDG_RUNTIME_DIR: `${home}/run`,
    QT_QPA_PLATFORM: "offscreen",
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  };
  if (options.activatable) {
    await Deno.writeTextFile(
      `${home}/services/org.kde.kwalletd5.service`,
      "[D-BUS Service]\nName=org.kde.kwalletd5\nExec=/usr/bin/kwalletd5\n",
    );
  }
  const bus = await startPrivateBus({
    dir: `${home}/run`,
    serviceDir: `${home}/services`,
    env: daemonEnv,
  });
  const address = bus.address;
  const env = { DBUS_SESSION_BUS_ADDRESS: address };

  const busctl = async (member: string, signature: string, ...args: string[]) => {
    const out = await new Deno.Command("busctl", {
      args: [
        "--user",
        "--timeout=10",
        "call",
        "org.kde.kwalletd5",
        "/modules/kwalletd5",
        "org.kde.KWallet",
        member,
        signature,
        ...args,
      ],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`busctl ${member}: ${decoder.decode(out.stderr).trim()}`);
    }
    return decoder.decode(out.stdout).trim();
  };

  let daemon: Deno.ChildProcess | undefined;
  const startDaemon = async () => {
    daemon = new Deno.Command("kwalletd5", {
      env: { ...daemonEnv, ...env },
      clearEnv: true,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0; i < 200; i++) {
      const out = await new Deno.Command("busctl", {
        args: ["--user", "status", "org.kde.kwalletd5"],
        env,
        stdout: "null",
        stderr: "null",
      }).output();
      if (out.success) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const wallet of options.wallets ?? ["aws-vault"]) await unlock(wallet);
  };
  /** Creates or unlocks a wallet with pamOpen, as pam_kwallet does at login. */
  const unlock = async (wallet: string) => {
    {
      // pamOpen is a no-reply method: send it, then wait until the wallet shows as open.
      const out = await new Deno.Command("busctl", {
        args: [
          "--user",
          "--expect-reply=no",
          "call",
          "org.kde.kwalletd5",
          "/modules/kwalletd5",
          "org.kde.KWallet",
          "pamOpen",
          "sayi",
          wallet,
          String(WALLET_KEY.length),
          ...WALLET_KEY,
          "0",
        ],
        env,
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(`pamOpen: ${decoder.decode(out.stderr)}`);
      let open = false;
      for (let i = 0; i < 100 && !open; i++) {
        open = (await busctl("isOpen", "s", wallet)) === "b true";
        if (!open) await new Promise((r) => setTimeout(r, 50));
      }
      if (!open) throw new Error(`kwalletd did not open wallet ${wallet}`);
    }
  };
  const stopDaemon = async () => {
    if (!daemon) return;
    try {
      daemon.kill("SIGKILL");
    } catch { /* already gone */ }
    await daemon.status;
    daemon = undefined;
  };

  const cleanup = async () => {
    await stopDaemon();
    await bus.stop();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  };
  try {
    if (!options.noDaemon) await startDaemon();
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    env,
    pid: () => daemon?.pid,
    busctl,
    signal: (sig) => daemon?.kill(sig),
    unlock,
    restart: async () => {
      await stopDaemon();
      await startDaemon();
    },
    walletFile: (name) => `${home}/data/kwalletd/${name}.kwl`,
    cleanup,
  };
}
