/**
 * The MFA prompt drivers against recording stand-ins of zenity, kdialog, osascript and ykman
 * (none can run here): exact command lines, trimmed answers, Cancel, missing programs,
 * aws-vault's auto-selection rule, and `mfa_process`.
 */
import assert from "node:assert/strict";
import { UserError } from "../../lib/errors.ts";
import { promptDriver } from "../../lib/prompt/drivers.ts";
import { MfaCodes } from "../../lib/prompt/mfa.ts";
import { selectPromptDriver } from "../../lib/prompt/select.ts";
import { memoryLedger } from "../../lib/prompt/used_codes.ts";
import { envFromObject } from "../../lib/runtime.ts";
import { cliCommand, DENO_DIR } from "../support/cli.ts";
import { rejection } from "../support/errors.ts";
import { PTY, runPtySpec } from "../support/pty.ts";
import { ignoreWithout } from "../support/peers.ts";
import { type StandIns, standIns } from "../support/stand_in.ts";
import { testRuntime } from "../support/runtime.ts";

const M = "arn:aws:iam::111111111111:mfa/jonsmith";
const PROMPT = `Enter MFA code for ${M}: `;

/** Runs `fn` with a fresh stand-in directory, removed afterwards. */
async function withStandIns(fn: (s: StandIns) => Promise<void>): Promise<void> {
  const s = await standIns();
  try {
    await fn(s);
  } finally {
    await s.cleanup();
  }
}

/** The driver `name` with PATH (and the rest of the environment) given. */
function driver(name: string, env: Record<string, string>) {
  return promptDriver(name, {
    terminal: testRuntime().terminal,
    env: envFromObject(env),
    os: Deno.build.os,
  });
}

/** MFA codes whose prompts go to `name` on `path`. */
function mfaVia(name: string, path: string): MfaCodes {
  return new MfaCodes({
    os: Deno.build.os,
    driver: () => Promise.resolve(driver(name, { PATH: path })),
    ledger: memoryLedger(),
    now: () => new Date(Date.UTC(2026, 0, 1)),
    notice: () => {},
  });
}

Deno.test("zenity: --entry with title aws-vault and the prompt text; the answer is trimmed", async () => {
  await withStandIns(async (s) => {
    await s.add("zenity", { stdout: "  123456 \n" });
    assert.equal(await driver("zenity", { PATH: s.dir })(M), "123456");
    const calls = await s.calls("zenity");
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].argv, ["--entry", "--title", "aws-vault", "--text", PROMPT]);
  });
});

Deno.test("kdialog: --inputbox <prompt> --title aws-vault; the answer is trimmed", async () => {
  await withStandIns(async (s) => {
    await s.add("kdialog", { stdout: "\t654321\n\n" });
    assert.equal(await driver("kdialog", { PATH: s.dir })(M), "654321");
    assert.deepEqual((await s.calls("kdialog")).map((c) => c.argv), [
      ["--inputbox", PROMPT, "--title", "aws-vault"],
    ]);
  });
});

Deno.test("osascript: one -e script with a text field, Cancel/OK buttons, OK default", async () => {
  await withStandIns(async (s) => {
    await s.add("osascript", { stdout: "112233\n" });
    assert.equal(await driver("osascript", { PATH: s.dir })(M), "112233");
    assert.deepEqual((await s.calls("osascript")).map((c) => c.argv), [[
      "-e",
      `display dialog "${PROMPT}" default answer "" buttons {"Cancel", "OK"} default button "OK" with title "aws-vault"\ntext returned of result`,
    ]]);
  });
});

Deno.test("osascript: quotes and backslashes in a serial cannot break out of the AppleScript string", async () => {
  await withStandIns(async (s) => {
    await s.add("osascript", { stdout: "112233\n" });
    await driver("osascript", { PATH: s.dir })('arn:x"\\y');
    const [script] = (await s.calls("osascript"))[0].argv.slice(1);
    assert.ok(
      script.startsWith('display dialog "Enter MFA code for arn:x\\"\\\\y: " default answer'),
      script,
    );
  });
});

Deno.test("ykman: the command line for each YKMAN_OATH_* and AWS_VAULT_YKMAN_VERSION", async () => {
  await withStandIns(async (s) => {
    await s.add("ykman", { stdout: "246810\n" });
    const cases: [Record<string, string>, string[]][] = [
      [{}, ["oath", "accounts", "code", "--single", M]],
      [{ YKMAN_OATH_CREDENTIAL_NAME: "aws:jon" }, [
        "oath",
        "accounts",
        "code",
        "--single",
        "aws:jon",
      ]],
      [{ YKMAN_OATH_DEVICE_SERIAL: "9876543" }, [
        "--device",
        "9876543",
        "oath",
        "accounts",
        "code",
        "--single",
        M,
      ]],
      [{ YKMAN_OATH_DEVICE_SERIAL: "9876543", YKMAN_OATH_CREDENTIAL_NAME: "aws:jon" }, [
        "--device",
        "9876543",
        "oath",
        "accounts",
        "code",
        "--single",
        "aws:jon",
      ]],
      // ykman 1-3 had no `accounts` level.
      [{ AWS_VAULT_YKMAN_VERSION: "1" }, ["oath", "code", "--single", M]],
      [{ AWS_VAULT_YKMAN_VERSION: "2" }, ["oath", "code", "--single", M]],
      [{ AWS_VAULT_YKMAN_VERSION: "3" }, ["oath", "code", "--single", M]],
      [{ AWS_VAULT_YKMAN_VERSION: "4" }, ["oath", "accounts", "code", "--single", M]],
      [{ AWS_VAULT_YKMAN_VERSION: "5" }, ["oath", "accounts", "code", "--single", M]],
      [
        {
          AWS_VAULT_YKMAN_VERSION: "3",
          YKMAN_OATH_DEVICE_SERIAL: "1",
          YKMAN_OATH_CREDENTIAL_NAME: "a",
        },
        ["--device", "1", "oath", "code", "--single", "a"],
      ],
      // Set but empty means unset, as in aws-vault.
      [{ YKMAN_OATH_DEVICE_SERIAL: "", YKMAN_OATH_CREDENTIAL_NAME: "" }, [
        "oath",
        "accounts",
        "code",
        "--single",
        M,
      ]],
    ];
    for (const [env, _] of cases) {
      assert.equal(await driver("ykman", { PATH: s.dir, ...env })(M), "246810");
    }
    const argvs = (await s.calls("ykman")).map((c) => c.argv);
    assert.deepEqual(argvs, cases.map(([, argv]) => argv));
  });
});

Deno.test("Cancel (non-zero exit) in any program driver is one clear UserError line", async () => {
  await withStandIns(async (s) => {
    for (const name of ["zenity", "kdialog", "osascript", "ykman"]) {
      await s.add(name, { exitCode: 1 });
      const err = await rejection(() => driver(name, { PATH: s.dir })(M), UserError);
      assert.equal(err.message, `MFA prompt cancelled: ${name} exited with status 1`);
      assert.equal((await s.calls(name)).length, 1);
    }
  });
});

Deno.test("OK with an empty field, or only whitespace, is a cancelled prompt", async () => {
  await withStandIns(async (s) => {
    await s.add("zenity", { stdout: " \n" });
    const err = await rejection(() => driver("zenity", { PATH: s.dir })(M), UserError);
    assert.equal(err.message, "MFA prompt cancelled: zenity printed no code");
  });
});

Deno.test("a code that is not 6 digits is refused without echoing it", async () => {
  await withStandIns(async (s) => {
    for (const typed of ["12345", "1234567", "12 456", "abcdef"]) {
      await s.add("zenity", { stdout: `${typed}\n` });
      const err = await rejection(() => mfaVia("zenity", s.dir).code({ serial: M }), UserError);
      assert.equal(err.message, `MFA code for ${M} must be 6 digits`);
    }
    await s.add("zenity", { stdout: " 098765\n" });
    assert.equal(await mfaVia("zenity", s.dir).code({ serial: M }), "098765");
  });
});

Deno.test("--prompt naming a driver whose program is missing: one clear line, nothing run", async () => {
  await withStandIns(async (s) => {
    for (const name of ["zenity", "kdialog", "osascript", "ykman"]) {
      const err = await rejection(() => driver(name, { PATH: s.dir })(M), UserError);
      assert.equal(
        err.message,
        `the '${name}' prompt driver needs the ${name} program, which is not on PATH`,
      );
    }
    // No PATH at all, and a same-named directory or a non-executable file, are "missing" too.
    await rejection(() => driver("zenity", {})(M), UserError);
    await Deno.mkdir(`${s.dir}/kdialog`);
    await Deno.writeTextFile(`${s.dir}/zenity`, "#!/bin/sh\necho 123456\n", { mode: 0o644 });
    await rejection(() => driver("kdialog", { PATH: s.dir })(M), UserError);
    await rejection(() => driver("zenity", { PATH: s.dir })(M), UserError);
    // The name wins over auto-selection even when its program is missing.
    assert.equal(
      await selectPromptDriver({ name: "ykman", stdoutIsTerminal: false, os: "linux", path: "" }),
      "ykman",
    );
  });
});

Deno.test("the program is found on the runtime's PATH, never a relative PATH entry", async () => {
  await withStandIns(async (s) => {
    await s.add("zenity", { stdout: "123456\n" });
    // The test process's own PATH has no zenity: finding it proves the runtime's PATH is used.
    assert.equal(await driver("zenity", { PATH: `/nonexistent:${s.dir}` })(M), "123456");
    // The same directory, spelled relative to the current one.
    const relative = `${"../".repeat(Deno.cwd().split("/").length - 1)}${s.dir.slice(1)}`;
    await rejection(() => driver("zenity", { PATH: relative })(M), UserError);
    assert.equal(
      await selectPromptDriver({ stdoutIsTerminal: false, os: "linux", path: relative }),
      "terminal",
    );
    assert.equal((await s.calls("zenity")).length, 1);
  });
});

Deno.test("terminal: asks on the terminal with the prompt text; no program runs", async () => {
  const rt = testRuntime({ answers: [" 135790 "] });
  const d = promptDriver("terminal", {
    terminal: rt.terminal,
    env: envFromObject({}),
    os: Deno.build.os,
  });
  assert.equal((await d(M)).trim(), "135790");
  assert.deepEqual(rt.prompts, [PROMPT]);
});

Deno.test("auto-selection follows aws-vault's rule in every case", async () => {
  await withStandIns(async (s) => {
    const pick = (o: { tty: boolean; server?: boolean; os?: typeof Deno.build.os }) =>
      selectPromptDriver({
        stdoutIsTerminal: o.tty,
        serverMode: o.server,
        os: o.os ?? "linux",
        path: `/nonexistent:${s.dir}`,
      });
    // Nothing installed: terminal whatever stdout is.
    assert.equal(await pick({ tty: true }), "terminal");
    assert.equal(await pick({ tty: false }), "terminal");
    assert.equal(await pick({ tty: true, server: true }), "terminal");
    // Each program alone is picked when stdout is not a terminal or a server runs.
    for (const name of ["kdialog", "osascript", "ykman", "zenity"]) {
      await s.add(name);
      assert.equal(await pick({ tty: false }), name);
      assert.equal(await pick({ tty: true, server: true }), name);
      assert.equal(await pick({ tty: true }), "terminal");
      await s.remove(name);
    }
    // All installed: the first alphabetically, then the next as each is removed.
    for (const name of ["kdialog", "osascript", "ykman", "zenity"]) await s.add(name);
    for (const name of ["kdialog", "osascript", "ykman", "zenity"]) {
      assert.equal(await pick({ tty: false }), name);
      await s.remove(name);
    }
    // On Linux with ykman and zenity, ykman wins.
    await s.add("zenity");
    await s.add("ykman");
    assert.equal(await pick({ tty: false }), "ykman");
    // wincredui exists on Windows only, between osascript and ykman.
    assert.equal(await pick({ tty: false, os: "windows" }), "wincredui");
    await s.add("osascript");
    assert.equal(await pick({ tty: false, os: "windows" }), "osascript");
    assert.equal(await pick({ tty: true, os: "windows" }), "terminal");
    // Nothing was run to decide.
    for (const name of ["kdialog", "osascript", "ykman", "zenity"]) {
      assert.deepEqual(await s.calls(name), []);
    }
  });
});

Deno.test("mfa_process runs through /bin/sh -c with the given environment; its output is the code", async () => {
  await withStandIns(async (s) => {
    await s.add("otp-helper", { stdout: " 97531" });
    const mfa = new MfaCodes({
      os: Deno.build.os,
      driver: () => Promise.reject(new Error("the prompt driver must not be used")),
      ledger: memoryLedger(),
      now: () => new Date(Date.UTC(2026, 0, 1)),
      notice: () => {},
      env: { PATH: s.dir, SUFFIX: "3" },
    });
    // Shell syntax (`;`, quoting, `$VAR`) proves the shell runs it.
    const code = await mfa.code({
      serial: M,
      mfaProcess: `otp-helper read "${M}"; echo "$SUFFIX "`,
    });
    assert.equal(code, "975313");
    assert.deepEqual((await s.calls("otp-helper")).map((c) => c.argv), [["read", M]]);
    assert.equal(mfa.prompts, 1);
  });
});

Deno.test("a failing mfa_process is one line naming neither its command nor its output", async () => {
  await withStandIns(async (s) => {
    await s.add("otp-helper", { stdout: "leaked-stdout-111111", exitCode: 4 });
    const mfa = new MfaCodes({
      os: Deno.build.os,
      driver: () => Promise.reject(new Error("the prompt driver must not be used")),
      ledger: memoryLedger(),
      now: () => new Date(Date.UTC(2026, 0, 1)),
      notice: () => {},
      env: { PATH: s.dir },
    });
    const command = "otp-helper --password hunter2-secret";
    const err = await rejection(() => mfa.code({ serial: M, mfaProcess: command }), UserError);
    assert.equal(err.message, "MFA prompt cancelled: mfa_process exited with status 4");
  });
});

const noPty = await ignoreWithout(PTY);

Deno.test("ykman gets the controlling terminal as stdin and stderr even when ours are not", {
  ignore: noPty,
}, async () => {
  await withStandIns(async (s) => {
    await s.add("ykman", { stdout: "424242\n", stderr: "Touch your YubiKey...\n" });
    const errFile = `${s.dir}/stderr.txt`;
    const runner = new URL("../support/stand_in_driver_run.ts", import.meta.url).pathname;
    const cmd = [...cliCommand().slice(0, -1), runner, "ykman", M].map(shellQuote).join(" ");
    const spec = {
      cmd: ["/bin/sh", "-c", `exec ${cmd} </dev/null 2>${shellQuote(errFile)}`],
      env: { PATH: s.dir, DENO_DIR, NO_COLOR: "1" },
      steps: [],
    };
    const out = await runPtySpec(spec);
    assert.equal(out.code, 0, out.output);
    assert.match(out.output, /code=424242/);
    assert.match(out.output, /Touch your YubiKey/);
    assert.equal(await Deno.readTextFile(errFile), "");
    const calls = await s.calls("ykman");
    assert.equal(calls.length, 1);
    assert.equal(calls[0].stderrIsTerminal, true);
    assert.equal(calls[0].stdinIsTerminal, true);
  });
});

Deno.test("with no controlling terminal, ykman's stderr stays on our stderr", async () => {
  await withStandIns(async (s) => {
    await s.add("ykman", { stdout: "424242\n", stderr: "Touch your YubiKey...\n" });
    const runner = new URL("../support/stand_in_driver_run.ts", import.meta.url).pathname;
    // setsid: a new session has no controlling terminal, whoever runs the tests.
    const [deno, ...args] = [...cliCommand().slice(0, -1), runner, "ykman", M];
    const out = await new Deno.Command("setsid", {
      args: ["-w", deno, ...args],
      env: { PATH: `${s.dir}:/usr/bin:/bin`, DENO_DIR, NO_COLOR: "1" },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert.equal(dec.decode(out.stdout), "code=424242\n");
    assert.equal(dec.decode(out.stderr), "Touch your YubiKey...\n");
    assert.equal((await s.calls("ykman"))[0].stderrIsTerminal, false);
  });
});

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
