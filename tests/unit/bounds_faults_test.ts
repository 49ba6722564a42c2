/**
 * Bounded everything (issue 14 item 13): odd vault directories, absurd config chains and a lock
 * directory that is a file each end with one clear line, quickly. The race in `bounded` only
 * keeps a regression from hanging the suite; no test asserts a duration.
 */
import assert from "node:assert/strict";
import { FileKeyring } from "../../backends/file.ts";
import { KeyringError, newItem } from "../../backends/keyring.ts";
import { parseConfig } from "../../lib/config/config_file.ts";
import { resolveProfile } from "../../lib/config/resolve.ts";
import { UserError } from "../../lib/errors.ts";
import { envFromObject } from "../../lib/runtime.ts";
import { withLock } from "../../lib/fs/lock.ts";

const noTerminal = { readLine: () => Promise.reject(new UserError("no terminal in this test")) };

async function bounded<T>(what: string, fn: () => Promise<T>): Promise<T | Error> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<Error>((r) =>
    timer = setTimeout(() => r(new Error(`${what} hung`)), 60_000)
  );
  try {
    return await Promise.race([fn().catch((e) => e as Error), hung]);
  } finally {
    clearTimeout(timer);
  }
}

const expectOneLine = (err: unknown, pattern: RegExp) => {
  assert.ok(err instanceof UserError || err instanceof KeyringError, String(err));
  assert.doesNotMatch((err as Error).message, /\n/);
  assert.match((err as Error).message, pattern);
};

Deno.test("item 13: a vault directory of endless pseudo files (/proc/self) fails, not hangs", async () => {
  const keyring = new FileKeyring("/proc/self", { passphrase: "pw", terminal: noTerminal });
  const setErr = await bounded(
    "set",
    () => keyring.set(newItem({ key: "work", data: new Uint8Array(1) })),
  );
  assert.ok(setErr instanceof Error, "set must fail in /proc/self");
  expectOneLine(setErr, /proc\/self/);
  for (const key of ["pagemap", "environ", "mem"]) {
    const err = await bounded(`get ${key}`, () => keyring.get(key));
    expectOneLine(err, /proc\/self\//);
  }
});

Deno.test("item 13: a FIFO in the vault directory is never opened for reading", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bounds-fifo-" });
  try {
    await new Deno.Command("mkfifo", { args: [`${dir}/work`] }).output();
    const keyring = new FileKeyring(dir, { passphrase: "pw", terminal: noTerminal });
    expectOneLine(await bounded("get", () => keyring.get("work")), /not a regular file/);
    expectOneLine(
      await bounded("set", () => keyring.set(newItem({ key: "work", data: new Uint8Array(1) }))),
      /not a regular file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("item 13: a 20,000-deep source_profile chain is one clear error", () => {
  const lines = ["[profile p0]", "region = eu-west-1"];
  for (let i = 1; i < 20_000; i++) lines.push(`[profile p${i}]`, `source_profile = p${i - 1}`);
  const config = parseConfig(lines.join("\n"), "config");
  let err: unknown;
  try {
    resolveProfile(config, "p19999", { env: envFromObject({}) });
  } catch (e) {
    err = e;
  }
  expectOneLine(err, /source_profile chain .* longer than/);
});

Deno.test("item 13: a 20,000-deep include_profile chain is one clear error", () => {
  const lines = ["[profile p0]", "region = eu-west-1"];
  for (let i = 1; i < 20_000; i++) lines.push(`[profile p${i}]`, `include_profile = p${i - 1}`);
  const config = parseConfig(lines.join("\n"), "config");
  let err: unknown;
  try {
    resolveProfile(config, "p19999", { env: envFromObject({}) });
  } catch (e) {
    err = e;
  }
  expectOneLine(err, /include_profile chain .* longer than/);
});

Deno.test("item 13: a lock directory that is a plain file is named, not File exists (os error 17)", async () => {
  const home = await Deno.makeTempDir({ prefix: "bounds-locks-" });
  try {
    await Deno.writeTextFile(`${home}/locks`, "");
    const err = await bounded(
      "lock",
      () => withLock(`${home}/locks/x.lock`, () => Promise.resolve()),
    );
    expectOneLine(err, /locks is not a directory/);
    assert.doesNotMatch((err as Error).message, /os error/);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
