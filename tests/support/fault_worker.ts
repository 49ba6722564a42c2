/**
 * A child process for the fault tests (tests/unit/*_faults_test.ts).
 *   fault_worker.ts set <dir> <passphrase> <key>   stores one item with the file backend, then
 *                                                   prints "ok" or the error's name and message
 */
import { FileKeyring } from "../../backends/file.ts";
import { newItem } from "../../backends/keyring.ts";
import { UserError } from "../../lib/errors.ts";

const [mode, ...args] = Deno.args;
const terminal = { readLine: () => Promise.reject(new UserError("no terminal")) };

if (mode === "set") {
  const [dir, passphrase, key] = args;
  const keyring = new FileKeyring(dir, { passphrase, terminal });
  try {
    await keyring.set(newItem({ key, data: new TextEncoder().encode(key) }));
    console.log("ok");
  } catch (err) {
    console.log(`${(err as Error).name}: ${(err as Error).message}`);
  }
}

if (mode === "add-section") {
  const { addProfileSection } = await import("../../lib/config/edit.ts");
  const [path, name] = args;
  try {
    await addProfileSection(path, name);
    console.log("ok");
  } catch (err) {
    console.log(`${(err as Error).name}: ${(err as Error).message}`);
  }
}
