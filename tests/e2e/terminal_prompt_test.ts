/** Prompts on the controlling terminal: cancelling one leaves the terminal as it was. */
import assert from "node:assert/strict";
import { ignoreWithout } from "../support/peers.ts";
import { PTY, runOnPty } from "../support/pty.ts";

const noPty = await ignoreWithout(PTY);

// A shell that survives Ctrl-C (a trap handler, unlike an ignored signal, is not inherited by
// aws-vault), runs aws-vault, then prints the terminal's settings once aws-vault has exited.
const THEN_STTY = ["/bin/sh", "-c", 'trap : INT; "$@"; echo "exit=$?"; stty -a', "sh"];

Deno.test("Ctrl-C at a hidden prompt cancels it and leaves echo and line editing on", {
  ignore: noPty,
}, async () => {
  const home = await Deno.makeTempDir({ prefix: "tty-prompt-" });
  try {
    const keys = `${home}/keys`;
    const r = await runOnPty(["add", "--env", "--no-add-config", "work"], {
      wrapper: THEN_STTY,
      env: {
        HOME: home,
        AWS_CONFIG_FILE: `${home}/config`,
        AWS_VAULT_BACKEND: "file",
        AWS_VAULT_FILE_DIR: keys,
        AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "secret",
      },
      steps: [[`Enter passphrase to unlock "${keys}": `, "\x03"]],
    });
    assert.deepEqual(r.pending, []);
    assert.match(r.output, /aws-vault: error: prompt cancelled/);
    assert.match(r.output, /exit=130/);
    const stty = r.output.slice(r.output.indexOf("exit="));
    assert.match(stty, /(^|\s)echo(\s|$)/m, `echo is still off:\n${stty}`);
    assert.match(stty, /(^|\s)icanon(\s|$)/m, `line editing is still off:\n${stty}`);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(keys)), [], "nothing was stored");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
