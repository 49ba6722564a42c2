/**
 * A recording stand-in for macOS `/usr/bin/security` (fake_security.py) installed in a temp dir,
 * with helpers to read what it was asked (argv of every run, stdin lines of `-i`) and its state.
 */
import { commandPeer, type Peer, python3 } from "./peers.ts";

/** One run of the stand-in. */
export interface SecurityCall {
  /** The argv it was started with (without the program name). */
  argv: string[];
  /** The command lines `-i` read from stdin. */
  lines: string[];
}

/** One generic-password item as the stand-in stores it. */
export interface FakeSecurityItem {
  service: string;
  account: string;
  label: string;
  kind: string;
  /** Hex of the stored password bytes. */
  password: string;
  /** "default" (creator trusted), "any" (-A) or the -T list ([] = ask on every access). */
  trusted: "default" | "any" | string[];
}

/** A stand-in `security` and its recordings. */
export interface FakeSecurity {
  /** The executable to pass as `securityPath`. */
  path: string;
  /** The directory holding the stand-in and its state. */
  dir: string;
  /** Every run so far, in order of completion. */
  calls(): Promise<SecurityCall[]>;
  /** Items of one keychain (`aws-vault.keychain`), or undefined when it does not exist. */
  items(keychain?: string): Promise<FakeSecurityItem[] | undefined>;
  /** Makes every later run of `command` fail with this OSStatus and stderr message. */
  failNext(command: string, status: number, message: string): Promise<void>;
  /** Runs the stand-in directly (to seed foreign items); returns its exit code. */
  run(args: string[], stdin?: string): Promise<number>;
  /** Forgets the recorded calls. */
  clearCalls(): Promise<void>;
  /** Removes the temp dir. */
  cleanup(): Promise<void>;
}

const SCRIPT = new URL("./fake_security.py", import.meta.url);

/** python3, which runs the stand-in. */
export const FAKE_SECURITY_PYTHON: Peer = commandPeer("python3", "python3", [
  "-c",
  "import fcntl, getopt, json",
]);

/** Installs a fresh stand-in `security` in a new temp dir. */
export async function installFakeSecurity(): Promise<FakeSecurity> {
  const dir = await Deno.makeTempDir({ prefix: "aws-vault-fake-security-" });
  const path = `${dir}/security`;
  // The interpreter by absolute path: every keyring call starts the stand-in, and a pyenv shim
  // on PATH would add a second of shell start-up to each.
  const script = await Deno.readTextFile(SCRIPT);
  const body = script.slice(script.indexOf("\n") + 1);
  await Deno.writeTextFile(path, `#!${await python3()} -S\n${body}`, { mode: 0o755 });
  const readJson = async (name: string): Promise<unknown> => {
    try {
      return JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  };
  return {
    path,
    dir,
    calls: async () => {
      let text = "";
      try {
        text = await Deno.readTextFile(`${dir}/calls.jsonl`);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
    },
    items: async (keychain = "aws-vault.keychain") => {
      const state = await readJson("state.json") as
        | { keychains: Record<string, { items: FakeSecurityItem[] }> }
        | undefined;
      return state?.keychains[keychain]?.items;
    },
    failNext: (command, status, message) =>
      Deno.writeTextFile(`${dir}/fail.json`, JSON.stringify({ command, status, message })),
    run: async (args, stdin) => {
      const child = new Deno.Command(path, {
        args,
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      if (stdin !== undefined) {
        const writer = child.stdin.getWriter();
        await writer.write(new TextEncoder().encode(stdin));
        await writer.close();
      }
      return (await child.status).code;
    },
    clearCalls: () => Deno.remove(`${dir}/calls.jsonl`).catch(() => {}),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
