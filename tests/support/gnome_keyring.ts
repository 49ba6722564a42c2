/**
 * A private session bus with an unlocked gnome-keyring for tests. New collections normally need a
 * GUI password prompt; `createCollection` uses gnome-keyring's CreateWithMasterPassword (through
 * Debian's python3-jeepney, tests only) to make one headless.
 */
import { commandWorks, type Peer, requirePeers } from "./peers.ts";
import { readUntil } from "./read_until.ts";

/** A running bus + keyring daemon. */
export interface GnomeKeyring {
  /** Environment for clients: DBUS_SESSION_BUS_ADDRESS, HOME, XDG dirs. */
  env: Record<string, string>;
  /** Creates (and unlocks) a collection with this name. */
  createCollection(name: string): Promise<void>;
  /** Stops both daemons and removes the temp HOME. */
  cleanup(): Promise<void>;
}

const CREATE_COLLECTION_PY = `
import sys
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
conn = open_dbus_connection(bus="SESSION")
svc = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                  interface="org.freedesktop.Secret.Service")
session = conn.send_and_get_reply(new_method_call(svc, "OpenSession", "sv", ("plain", ("s", "")))).body[1]
gk = DBusAddress("/org/freedesktop/secrets", bus_name="org.freedesktop.secrets",
                 interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface")
reply = conn.send_and_get_reply(new_method_call(gk, "CreateWithMasterPassword", "a{sv}(oayays)",
    ({"org.freedesktop.Secret.Collection.Label": ("s", sys.argv[1])}, (session, b"", b"pw", "text/plain"))))
print(reply.body[0])
`;

/** dbus, gnome-keyring, busctl and jeepney (secret-tool is optional). */
export const GNOME_KEYRING: Peer = {
  name: "gnome-keyring",
  probe: async () => {
    for (
      const [cmd, args] of [
        ["dbus-daemon", ["--version"]],
        ["gnome-keyring-daemon", ["--version"]],
        ["secret-tool", ["--help"]],
        ["busctl", ["--version"]],
        ["/usr/bin/python3", ["-c", "import jeepney"]],
      ] as const
    ) {
      const why = await commandWorks(cmd, [...args])();
      if (why && !(cmd === "secret-tool")) return why;
    }
    return undefined;
  },
};

/** Starts a bus and an unlocked gnome-keyring; throws when the tools are missing. */
export async function startGnomeKeyring(): Promise<GnomeKeyring> {
  await requirePeers(GNOME_KEYRING);
  const home = await Deno.makeTempDir({ prefix: "awsvault-gk-" });
  await Deno.mkdir(`${home}/run`, { mode: 0o700 });
  const bus = new Deno.Command("dbus-daemon", {
    args: ["--session", "--nofork", "--nopidfile", "--print-address=1"],
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
  for (let i = 0; i < 100; i++) {
    const out = await new Deno.Command("busctl", {
      args: ["--user", "status", "org.freedesktop.secrets"],
      env,
      stdout: "null",
      stderr: "null",
    }).output();
    if (out.success) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    env,
    cleanup,
    createCollection: async (name) => {
      const out = await new Deno.Command("/usr/bin/python3", {
        args: ["-c", CREATE_COLLECTION_PY, name],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    },
  };
}
