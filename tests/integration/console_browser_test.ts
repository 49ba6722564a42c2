/**
 * The browser opener: `--browser` templates split like a shell would (without one), the system
 * opener per OS, and the one-use loopback redirect, run with a stand-in browser that records
 * the address it was given.
 */
import assert from "node:assert/strict";
import { browserCommand, expandBrowserTemplate, openInBrowser } from "../../lib/console/browser.ts";
import { UsageError } from "../../lib/errors.ts";
import { type StandIns, standIns } from "../support/stand_in.ts";

const LINK = "https://signin.aws.amazon.com/federation?Action=login&SigninToken=a%2Bb&x=1";

Deno.test("browser templates: {url}, {urlencoded}, quoting, appended when absent", () => {
  assert.deepEqual(expandBrowserTemplate("firefox", LINK), ["firefox", LINK]);
  assert.deepEqual(
    expandBrowserTemplate(`chromium --profile-directory='Profile 2' {url}`, LINK),
    ["chromium", "--profile-directory=Profile 2", LINK],
  );
  assert.deepEqual(
    expandBrowserTemplate(`firefox "ext+container:name=Work&url={urlencoded}"`, LINK),
    ["firefox", `ext+container:name=Work&url=${encodeURIComponent(LINK)}`],
  );
  assert.deepEqual(expandBrowserTemplate(`a\\ b {url} {url}`, "u"), ["a b", "u", "u"]);
  assert.deepEqual(expandBrowserTemplate(`x "" {url}`, "u"), ["x", "", "u"]);
  // Nothing else is special: no variables, globs, command substitution or separators.
  assert.deepEqual(
    expandBrowserTemplate("echo $HOME `id` $(id) ; rm * | x {url}", "u"),
    ["echo", "$HOME", "`id`", "$(id)", ";", "rm", "*", "|", "x", "u"],
  );
  assert.throws(() => expandBrowserTemplate("   ", "u"), UsageError);
  assert.throws(() => expandBrowserTemplate(`firefox 'unclosed`, "u"), UsageError);
  assert.throws(() => expandBrowserTemplate(`firefox "unclosed`, "u"), UsageError);
});

Deno.test("the system opener per OS, found on PATH; missing ones say so", async () => {
  const s = await standIns();
  try {
    const xdg = await s.add("xdg-open");
    const open = await s.add("open");
    const deps = (os: typeof Deno.build.os) => ({ os, path: s.dir, env: {} });
    assert.deepEqual(await browserCommand("u", undefined, deps("linux")), { argv: [xdg, "u"] });
    assert.deepEqual(await browserCommand("u", undefined, deps("freebsd")), { argv: [xdg, "u"] });
    assert.deepEqual(await browserCommand("u", undefined, deps("darwin")), { argv: [open, "u"] });
    assert.deepEqual(await browserCommand("u", undefined, deps("windows")), {
      argv: ["rundll32", "url.dll,FileProtocolHandler", "u"],
    });
    await s.remove("xdg-open");
    const missing = await browserCommand("u", undefined, deps("linux"));
    assert.ok("missing" in missing && /xdg-open .*not found on PATH/.test(missing.missing));
    const noTemplateProgram = await browserCommand("u", "no-such-browser {url}", deps("linux"));
    assert.ok(
      "missing" in noTemplateProgram && /--browser program no-such-browser/.test(
        noTemplateProgram.missing,
      ),
    );
  } finally {
    await s.cleanup();
  }
});

async function firstCall(s: StandIns, name: string): Promise<string[]> {
  for (let i = 0; i < 400; i++) {
    const calls = await s.calls(name);
    if (calls.length > 0) return calls[0].argv;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${name} was never run`);
}

Deno.test("--browser template: the stand-in gets a one-use loopback address, never the link", async () => {
  const s = await standIns();
  try {
    await s.add("mybrowser");
    const opening = openInBrowser(LINK, { os: "linux", path: s.dir, env: { PATH: s.dir } }, {
      template: `mybrowser --profile-directory='Work 1' --new-window {url}`,
    });
    const argv = await firstCall(s, "mybrowser");
    assert.equal(argv.length, 3);
    assert.deepEqual(argv.slice(0, 2), ["--profile-directory=Work 1", "--new-window"]);
    const local = new URL(argv[2]);
    assert.equal(local.protocol, "http:");
    assert.equal(local.hostname, "127.0.0.1");
    assert.match(local.pathname, /^\/[0-9a-f]{32}$/);
    assert.ok(!argv.join(" ").includes("SigninToken"), "the sign-in token is not in argv");
    // A wrong path does not use up the redirect.
    const wrong = await fetch(`${local.origin}/0000`, { redirect: "manual" });
    await wrong.body?.cancel();
    assert.equal(wrong.status, 404);
    const r = await fetch(local, { redirect: "manual" });
    await r.body?.cancel();
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), LINK);
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.deepEqual(await opening, { opened: true });
    // One use: the server is gone.
    await assert.rejects(fetch(local, { redirect: "manual" }));
  } finally {
    await s.cleanup();
  }
});

Deno.test("{urlencoded}: a Firefox container URL wraps the one-use address", async () => {
  const s = await standIns();
  try {
    await s.add("firefox");
    const opening = openInBrowser(LINK, { os: "linux", path: s.dir, env: {} }, {
      template: `firefox 'ext+container:name=Work&url={urlencoded}'`,
    });
    const argv = await firstCall(s, "firefox");
    assert.equal(argv.length, 1);
    const m = argv[0].match(/^ext\+container:name=Work&url=(.*)$/);
    assert.ok(m, argv[0]);
    const local = decodeURIComponent(m[1]);
    assert.match(local, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
    const r = await fetch(local, { redirect: "manual" });
    await r.body?.cancel();
    assert.equal(r.headers.get("location"), LINK);
    assert.deepEqual(await opening, { opened: true });
  } finally {
    await s.cleanup();
  }
});

Deno.test("an opener that fails, or a browser that never comes, is reported", async () => {
  const s = await standIns();
  try {
    await s.add("xdg-open", { exitCode: 3 });
    const failed = await openInBrowser(LINK, { os: "linux", path: s.dir, env: {} });
    assert.equal(failed.opened, false);
    assert.match((failed as { why: string }).why, /xdg-open exited with status 3/);
    await s.add("xdg-open");
    const never = await openInBrowser(LINK, { os: "linux", path: s.dir, env: {} }, {
      timeoutMs: 300,
    });
    assert.equal(never.opened, false);
    assert.match((never as { why: string }).why, /no browser followed the link/);
    await s.remove("xdg-open");
    const none = await openInBrowser(LINK, { os: "linux", path: s.dir, env: {} });
    assert.equal(none.opened, false);
    assert.match((none as { why: string }).why, /xdg-open .*not found/);
  } finally {
    await s.cleanup();
  }
});
