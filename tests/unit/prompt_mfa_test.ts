/** MFA code sources: order, one code never sent twice, driver selection, ykman's command line. */
import assert from "node:assert/strict";
import { UserError } from "../../lib/errors.ts";
import { ykmanArgv } from "../../lib/prompt/drivers.ts";
import { MfaCodes } from "../../lib/prompt/mfa.ts";
import { selectPromptDriver } from "../../lib/prompt/select.ts";
import { fileLedger, memoryLedger } from "../../lib/prompt/used_codes.ts";
import { withLock } from "../../lib/fs/lock.ts";
import { envFromObject } from "../../lib/runtime.ts";
import { rejection } from "../support/errors.ts";

const M = "arn:aws:iam::111111111111:mfa/jonsmith";

function codes(answers: string[], start = Date.UTC(2026, 0, 1, 0, 0, 5)) {
  let clock = start;
  const notices: string[] = [];
  const asked: string[] = [];
  const mfa = new MfaCodes({
    os: Deno.build.os,
    driver: () =>
      Promise.resolve((serial: string) => {
        asked.push(serial);
        return Promise.resolve(answers.shift() ?? "");
      }),
    ledger: memoryLedger(),
    now: () => new Date(clock),
    notice: (t) => notices.push(t),
    sleep: (ms) => {
      clock += ms;
      return Promise.resolve();
    },
  });
  return { mfa, notices, asked, elapsed: () => clock - start };
}

Deno.test("a code typed twice in one window is not sent twice: the user is asked for the next", async () => {
  const t = codes(["123456", " 123456 ", "654321"]);
  assert.equal(await t.mfa.code({ serial: M }), "123456");
  assert.equal(await t.mfa.code({ serial: M }), "654321");
  assert.equal(t.asked.length, 3);
  assert.equal(t.notices.length, 1);
  assert.match(t.notices[0], /already used; waiting \d+s for the next code/);
  assert.ok(!t.notices[0].includes("123456"));
  assert.ok(t.elapsed() >= 25_000);
});

Deno.test("--mfa-token wins over mfa_process and the driver, and is refused when reused", async () => {
  const t = codes(["111111"]);
  const req = { serial: M, fixedCode: "222222", mfaProcess: "exit 1" };
  assert.equal(await t.mfa.code(req), "222222");
  assert.equal(t.asked.length, 0);
  const err = await rejection(() => t.mfa.code(req), UserError);
  assert.match(err.message, /--mfa-token was already used for .*mfa\/jonsmith/);
  assert.ok(!err.message.includes("222222"));
});

Deno.test("mfa_process output is the code; a second call waits for the next window first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const t = codes([]);
    // Prints 424242, then 434343: a program's code changes only with the TOTP window.
    const script =
      `if [ -e '${dir}/n' ]; then echo 434343; else : > '${dir}/n'; echo ' 424242 '; fi`;
    assert.equal(await t.mfa.code({ serial: M, mfaProcess: script }), "424242");
    assert.equal(t.notices.length, 0);
    assert.equal(await t.mfa.code({ serial: M, mfaProcess: script }), "434343");
    assert.equal(t.mfa.prompts, 2);
    assert.equal(t.notices.length, 1);
    assert.ok(t.elapsed() >= 25_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a cancelled or malformed code is one line that never shows the input", async () => {
  const cancelled = await rejection(() => codes([""]).mfa.code({ serial: M }), UserError);
  assert.match(cancelled.message, /MFA prompt cancelled/);
  const bad = await rejection(() => codes(["12ab56"]).mfa.code({ serial: M }), UserError);
  assert.equal(bad.message, `MFA code for ${M} must be 6 digits`);
  const failing = await rejection(
    () => codes([]).mfa.code({ serial: M, mfaProcess: "exit 3" }),
    UserError,
  );
  assert.equal(failing.message, "MFA prompt cancelled: mfa_process exited with status 3");
});

Deno.test("the file ledger remembers uses across instances, without the code", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/locks/used.json`;
    await fileLedger(path).record(M, { window: 5, codeHash: "abc" });
    assert.deepEqual(await fileLedger(path).lastUse(M), { window: 5, codeHash: "abc" });
    assert.equal(await fileLedger(path).lastUse("other"), undefined);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.ok(!(await Deno.readTextFile(path)).includes(M));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the file ledger under its lock keeps every device when many record at once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/locks/used.json`;
    const lock = <T>(fn: () => Promise<T>) => withLock(`${dir}/locks/used.lock`, fn);
    const serials = Array.from({ length: 12 }, (_, i) => `arn:aws:iam::1:mfa/device-${i}`);
    // Separate instances, as separate processes would have.
    const ledgers = serials.map(() => fileLedger(path, lock));
    await Promise.all(serials.map((s, i) => ledgers[i].record(s, { window: 7, codeHash: s })));
    for (const s of serials) {
      assert.deepEqual(await fileLedger(path).lastUse(s), { window: 7, codeHash: s }, s);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("driver selection: flag wins; terminal on a tty; else first GUI driver on PATH", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const base = { os: "linux" as const, path: dir };
    assert.equal(
      await selectPromptDriver({ ...base, name: "zenity", stdoutIsTerminal: true }),
      "zenity",
    );
    assert.equal(await selectPromptDriver({ ...base, stdoutIsTerminal: true }), "terminal");
    assert.equal(await selectPromptDriver({ ...base, stdoutIsTerminal: false }), "terminal");
    for (const name of ["zenity", "ykman"]) {
      await Deno.writeTextFile(`${dir}/${name}`, "#!/bin/sh\n", { mode: 0o755 });
    }
    assert.equal(await selectPromptDriver({ ...base, stdoutIsTerminal: false }), "ykman");
    assert.equal(
      await selectPromptDriver({ ...base, stdoutIsTerminal: true, serverMode: true }),
      "ykman",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ykman command line follows YKMAN_OATH_* and AWS_VAULT_YKMAN_VERSION", () => {
  assert.deepEqual(ykmanArgv(M, envFromObject({})), [
    "ykman",
    "oath",
    "accounts",
    "code",
    "--single",
    M,
  ]);
  assert.deepEqual(
    ykmanArgv(
      M,
      envFromObject({
        YKMAN_OATH_DEVICE_SERIAL: "123",
        YKMAN_OATH_CREDENTIAL_NAME: "aws:jon",
        AWS_VAULT_YKMAN_VERSION: "3",
      }),
    ),
    ["ykman", "--device", "123", "oath", "code", "--single", "aws:jon"],
  );
});
