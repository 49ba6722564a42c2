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

if (mode === "storm") {
  // Writes credentials and sessions under the given names forever (until killed), printing a
  // line after each full round.
  const { CredentialStore, SessionStore } = await import("../../lib/store/mod.ts");
  const [dir, passphrase, namesJson] = args;
  const names: string[] = JSON.parse(namesJson);
  const keyring = new FileKeyring(dir, { passphrase, terminal });
  const creds = new CredentialStore(keyring);
  const sessions = new SessionStore(keyring, () => new Date());
  for (let round = 1;; round++) {
    for (const name of names) {
      await creds.set(name, { accessKeyId: `AKIA${round}`, secretAccessKey: name });
      await sessions.set({ type: "sts.GetSessionToken", profileName: name, mfaSerial: "" }, {
        accessKeyId: `ASIA${round}`,
        secretAccessKey: name,
        sessionToken: "t",
        expiration: new Date(Date.now() + 3600_000 + round * 1000),
      });
    }
    console.log(round);
  }
}
