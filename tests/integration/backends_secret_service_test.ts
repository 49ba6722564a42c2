/** The Secret Service backend against a real gnome-keyring on a private session bus. */
import assert from "node:assert/strict";
import { keyringConformance } from "../support/keyring_conformance.ts";
import { GNOME_KEYRING, startGnomeKeyring } from "../support/gnome_keyring.ts";
import { ignoreWithout } from "../support/peers.ts";
import {
  collectionPath,
  openSecretServiceKeyring,
  pickSecret,
  secretServiceUnavailable,
} from "../../backends/secret_service.ts";
import { newItem } from "../../backends/keyring.ts";

const noKeyring = await ignoreWithout(GNOME_KEYRING);

keyringConformance("secret-service", async () => {
  const gk = await startGnomeKeyring();
  await gk.createCollection("awsvault");
  return { keyring: openSecretServiceKeyring({ env: gk.env }), cleanup: gk.cleanup };
}, { keepsLabels: true, maxValueBytes: 4096, ignore: noKeyring });

Deno.test("secret-service: items are Item JSON with label and profile attribute = key", {
  ignore: noKeyring,
}, async () => {
  const gk = await startGnomeKeyring();
  try {
    await gk.createCollection("awsvault");
    const k = openSecretServiceKeyring({ env: gk.env });
    await k.set(newItem({ key: "work", data: new TextEncoder().encode("{}") }));
    const out = await new Deno.Command("secret-tool", {
      args: ["search", "--all", "profile", "work"],
      env: gk.env,
      stdout: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.match(text, /^label = work$/m);
    assert.equal(JSON.parse(pickSecret(text, "/1", "work")!).Key, "work");
  } finally {
    await gk.cleanup();
  }
});

Deno.test("secret-service: a missing collection reads as empty; other collections are not ours", {
  ignore: noKeyring,
}, async () => {
  const gk = await startGnomeKeyring();
  try {
    // An item with the same attribute in the login collection is not found through ours.
    const child = new Deno.Command("secret-tool", {
      args: ["store", "--label=work", `--collection=${collectionPath("login")}`, "profile", "work"],
      env: gk.env,
      stdin: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("not ours"));
    await w.close();
    assert.equal((await child.status).code, 0);
    const k = openSecretServiceKeyring({ env: gk.env, collection: "nothere" });
    assert.deepEqual(await k.keys(), []);
    assert.equal(await k.get("work"), undefined);
    assert.equal(await k.remove("work"), false);
  } finally {
    await gk.cleanup();
  }
});

Deno.test("secret-service: unavailability is explained", { ignore: noKeyring }, async () => {
  assert.match((await secretServiceUnavailable({}))!, /DBUS_SESSION_BUS_ADDRESS is not set/);
  const dir = await Deno.makeTempDir();
  try {
    const why = await secretServiceUnavailable({
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${dir}/no-bus`,
    });
    assert.match(why!, /no Secret Service is running|busctl/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const gk = await startGnomeKeyring();
  try {
    assert.equal(await secretServiceUnavailable(gk.env), undefined);
  } finally {
    await gk.cleanup();
  }
});
