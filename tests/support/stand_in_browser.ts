/**
 * A stand-in browser, installed on PATH as `xdg-open` (see `installStandInBrowser`): it logs
 * each URL it is asked to open to `$STAND_IN_BROWSER_LOG`, then follows it (redirects too, so an
 * authorization page's redirect reaches the loopback listener) with the decision of
 * `$STAND_IN_BROWSER_DECISION` (`approve`, `deny`; `ignore` opens nothing, `fail` exits 3).
 */
const url = Deno.args[0] ?? "";
const log = Deno.env.get("STAND_IN_BROWSER_LOG");
// A browser must never see the vault passphrase: the log says so if it does.
const leak = Deno.env.get("AWS_VAULT_FILE_PASSPHRASE") !== undefined ? " PASSPHRASE-LEAKED" : "";
if (log) await Deno.writeTextFile(log, `${url}${leak}\n`, { append: true });
const decision = Deno.env.get("STAND_IN_BROWSER_DECISION") ?? "approve";
if (decision === "fail") Deno.exit(3);
if (decision !== "ignore") {
  const r = await fetch(url, { headers: { "x-test-decision": decision } });
  await r.body?.cancel();
}
