/**
 * A private D-Bus session bus for tests: dbus-daemon with its own configuration, listening in a
 * test's directory, with no service directories but the one a test names, so nothing is started
 * on demand behind the test's back (the system's service files would start real daemons with the
 * real HOME).
 */
import { readUntil } from "./read_until.ts";

/** A running private bus. */
export interface PrivateBus {
  /** The address clients use (DBUS_SESSION_BUS_ADDRESS). */
  address: string;
  /** Stops the bus. */
  stop(): Promise<void>;
}

/** Options of the bus. */
export interface PrivateBusOptions {
  /** Directory for the socket and the configuration file (the caller removes it). */
  dir: string;
  /** The only directory of `.service` files the bus activates from; none when absent. */
  serviceDir?: string;
  /** The whole environment of dbus-daemon, which services it starts inherit. */
  env?: Record<string, string>;
}

/** Starts dbus-daemon and waits for its address. */
export async function startPrivateBus(options: PrivateBusOptions): Promise<PrivateBus> {
  const config = `${options.dir}/bus.conf`;
  await Deno.writeTextFile(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=${options.dir}</listen>
  <auth>EXTERNAL</auth>
${
      options.serviceDir
        ? `  <servicedir>${options.serviceDir}</servicedir>\n`
        : ""
    }  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const bus = new Deno.Command("dbus-daemon", {
    args: [`--config-file=${config}`, "--nofork", "--nopidfile", "--print-address=1"],
    ...(options.env ? { env: options.env, clearEnv: true } : {}),
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = bus.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const address = (await readUntil(reader, (text) => text.includes("\n"))).trim();
  reader.releaseLock();
  await bus.stdout.cancel().catch(() => {});
  return {
    address,
    stop: async () => {
      try {
        bus.kill("SIGTERM");
      } catch { /* already gone */ }
      await bus.status;
    },
  };
}
