/**
 * A child process for store safety tests.
 *   store_worker.ts write <dir>         rewrites items k0..k4 forever, printing each finished round
 *   store_worker.ts count <lock> <file> <n>   n times: under the lock, read-modify-write a counter
 */
import { FileKeyring } from "../../backends/file.ts";
import { newItem } from "../../backends/keyring.ts";
import { withLock } from "../../lib/fs/lock.ts";
import { UserError } from "../../lib/errors.ts";

const [mode, a, b, n] = Deno.args;
const enc = new TextEncoder();

if (mode === "write") {
  const terminal = { readLine: () => Promise.reject(new UserError("no terminal")) };
  const keyring = new FileKeyring(a, { passphrase: "pw", terminal });
  for (let round = 1;; round++) {
    for (let i = 0; i < 5; i++) {
      await keyring.set(newItem({ key: `k${i}`, data: enc.encode(`round ${round}`) }));
    }
    await Deno.stdout.write(enc.encode(`${round}\n`));
  }
} else if (mode === "count") {
  for (let i = 0; i < Number(n); i++) {
    await withLock(a, async () => {
      const value = Number(await Deno.readTextFile(b).catch(() => "0"));
      await new Promise((r) => setTimeout(r, 1)); // widen the race a lock must close
      await Deno.writeTextFile(b, String(value + 1));
    });
  }
}
