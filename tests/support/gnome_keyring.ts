/**
 * A private session bus with an unlocked gnome-keyring for tests. New collections normally need a
 * GUI password prompt; `createCollection` uses gnome-keyring's CreateWithMasterPassword (a
 * private interface, tests only) to make one headless. Everything goes through our own D-Bus
 * client: the tests need neither busctl nor secret-tool (secret-tool is an interop peer only).
 */
import { commandWorks, type Peer, requirePeers } from "./peers.ts";
import { lookPath } from "../../lib/process/path_lookup.ts";
import { connectBus, type DbusConnection } from "../../backends/dbus/connection.ts";
import { readUntil } from "./read_until.ts";

/** A running bus + keyring daemon. */
export interface GnomeKeyring {
  /** Environment for clients: DBUS_SESSION_BUS_ADDRESS, HOME, XDG dirs. */
  env: Record<string, string>;
  /** Creates (and unlocks) a collection with this name; answers its object path. */
  createCollection(name: string): Promise<string>;
  /** Locks a collection (gnome-keyring needs no prompt to lock). */
  lockCollection(path: string): Promise<void>;
  /** Unlocks a collection with its password (what the user types at the unlock prompt). */
  unlockCollection(path: string): Promise<void>;
  /** Stops the keyring daemon, leaving the bus running. */
  stopKeyringDaemon(): Promise<void>;
  /** Stops both daemons and removes the temp HOME. */
  cleanup(): Promise<void>;
}

/** dbus-daemon and gnome-keyring (the backend needs no other program). */
export const GNOME_KEYRING: Peer = {
  name: "gnome-keyring",
  probe: async () => {
    for (const cmd of ["dbus-daemon", "gnome-keyring-daemon"]) {
      const why = await commandWorks(cmd, ["--version"])();
      if (why) return why;
    }
    return undefined;
  },
};

/** libsecret's secret-tool: an independent client, for interoperability tests only. */
export const SECRET_TOOL: Peer = {
  name: "secret-tool",
  probe: async () =>
    await lookPath("secret-tool", Deno.env.get("PATH")) ? undefined : "secret-tool is not on PATH",
};

const SECRETS = "org.freedesktop.secrets";
const SERVICE = { destination: SECRETS, path: "/org/freedesktop/secrets" };

/** Runs fn on a fresh connection to the bus at `address`. */
async function onBus<T>(address: string, fn: (bus: DbusConnection) => Promise<T>): Promise<T> {
  const bus = await connectBus(address);
  try {
    return await fn(bus);
  } finally {
    bus.close();
  }
}

const BUS_CONFIG = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=DIR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

async function plainSession(bus: DbusConnection): Promise<string> {
  const reply = await bus.call({
    ...SERVICE,
    interface: "org.freedesktop.Secret.Service",
    member: "OpenSession",
    signature: "sv",
    body: ["plain", { signature: "s", value: "" }],
  });
  return String(reply.body[1]);
}

/** Starts a bus and an unlocked gnome-keyring; throws when the tools are missing. */
export async function startGnomeKeyring(): Promise<GnomeKeyring> {
  await requirePeers(GNOME_KEYRING);
  const home = await Deno.makeTempDir({ prefix: "awsvault-gk-" });
  await Deno.mkdir(`${home}/run`, { mode: 0o700 });
  // A session bus that activates nothing: no daemon starts with the real HOME behind our back
  // (a stopped gnome-keyring stays stopped), and prompts find no prompter.
  await Deno.writeTextFile(`${home}/bus.conf`, BUS_CONFIG.replace("DIR", home));
  const bus = new Deno.Command("dbus-daemon", {
    args: [`--config-file=${home}/bus.conf`, "--nofork", "--nopidfile", "--print-address=1"],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = bus.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const address = await readUntil(reader, (text) => text.includes("\n"));
  reader.releaseLock();
  await bus.stdout.cancel().catch(() => {});
  const env = {
    HOME: home,
    XDG_DATA_HOME: `${home}/data`,
    XDG_RUNTIME_DIR: `${home}/run`,
    DBUS_SESSION_BUS_ADDRESS: address.trim(),
  };
  const keyring = new Deno.Command("gnome-keyring-daemon", {
    args: ["--foreground", "--unlock", "--components=secrets"],
    env,
    stdin: "piped",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const w = keyring.stdin.getWriter();
  await w.write(new TextEncoder().encode("pw"));
  await w.close();
  const cleanup = async () => {
    for (const p of [keyring, bus]) {
      try {
        p.kill("SIGTERM");
      } catch { /* already gone */ }
      await p.status;
    }
    await Deno.remove(home, { recursive: true }).catch(() => {});
  };
  // Wait for the daemon to own its bus name.
  await onBus(env.DBUS_SESSION_BUS_ADDRESS, async (bus) => {
    for (let i = 0; i < 200; i++) {
      const owned = await bus.call({
        destination: "org.freedesktop.DBus",
        path: "/org/freedesktop/DBus",
        interface: "org.freedesktop.DBus",
        member: "NameHasOwner",
        signature: "s",
        body: [SECRETS],
      });
      if (owned.body[0] === true) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }).catch(async (err) => {
    await cleanup();
    throw err;
  });
  return {
    env,
    cleanup,
    createCollection: (name) =>
      onBus(env.DBUS_SESSION_BUS_ADDRESS, async (bus) => {
        const session = await plainSession(bus);
        const reply = await bus.call({
          ...SERVICE,
          interface: "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
          member: "CreateWithMasterPassword",
          signature: "a{sv}(oayays)",
          body: [
            new Map([["org.freedesktop.Secret.Collection.Label", { signature: "s", value: name }]]),
            [session, new Uint8Array(), new TextEncoder().encode("pw"), "text/plain"],
          ],
        });
        return String(reply.body[0]);
      }),
    unlockCollection: (path) =>
      onBus(env.DBUS_SESSION_BUS_ADDRESS, async (bus) => {
        const session = await plainSession(bus);
        await bus.call({
          ...SERVICE,
          interface: "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface",
          member: "UnlockWithMasterPassword",
          signature: "o(oayays)",
          body: [path, [session, new Uint8Array(), new TextEncoder().encode("pw"), "text/plain"]],
        });
      }),
    stopKeyringDaemon: async () => {
      try {
        keyring.kill("SIGTERM");
      } catch { /* already gone */ }
      await keyring.status;
    },
    lockCollection: (path) =>
      onBus(env.DBUS_SESSION_BUS_ADDRESS, async (bus) => {
        await bus.call({
          ...SERVICE,
          interface: "org.freedesktop.Secret.Service",
          member: "Lock",
          signature: "ao",
          body: [[path]],
        });
      }),
  };
}
