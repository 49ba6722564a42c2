/**
 * The bundle's SDK module holds only the names lib/aws/sdk_parts.ts lists: every listed name is
 * a class the real package exports, the generated entry reads exactly those, and a package the
 * program imports without a list stops the build.
 */
import assert from "node:assert/strict";
import { SDK_PARTS } from "../../lib/aws/sdk_parts.ts";
import { sdkEntry } from "../../scripts/bundle.ts";

const PACKAGES = {
  "@aws-sdk/client-iam": () => import("@aws-sdk/client-iam"),
  "@aws-sdk/client-sso": () => import("@aws-sdk/client-sso"),
  "@aws-sdk/client-sso-oidc": () => import("@aws-sdk/client-sso-oidc"),
  "@aws-sdk/client-sts": () => import("@aws-sdk/client-sts"),
} as const;

Deno.test("SDK_PARTS: every listed name is a class its package exports", async () => {
  assert.deepEqual(Object.keys(SDK_PARTS).sort(), Object.keys(PACKAGES).sort());
  for (const [pkg, load] of Object.entries(PACKAGES)) {
    const sdk = await load() as Record<string, unknown>;
    for (const name of SDK_PARTS[pkg as keyof typeof SDK_PARTS]) {
      assert.equal(typeof sdk[name], "function", `${pkg} exports ${name}`);
    }
  }
});

Deno.test("sdkEntry: per package, an object of exactly the listed names", () => {
  const entry = sdkEntry(["@aws-sdk/client-sso", "@aws-sdk/client-sts"]);
  assert.match(entry, /import \* as p0 from "@aws-sdk\/client-sso";/);
  assert.match(entry, /export \{ o1 as "@aws-sdk\/client-sts" \};/);
  const read = [...entry.matchAll(/p(\d)\["(\w+)"\]/g)].map(([, i, name]) => `${i}:${name}`);
  assert.deepEqual(read, [
    ...SDK_PARTS["@aws-sdk/client-sso"].map((n) => `0:${n}`),
    ...SDK_PARTS["@aws-sdk/client-sts"].map((n) => `1:${n}`),
  ]);
  assert.doesNotMatch(entry, /export \*/);
});

Deno.test("sdkEntry: a package imported without a list stops the build", () => {
  assert.throws(
    () => sdkEntry(["@aws-sdk/client-s3"]),
    /@aws-sdk\/client-s3 is imported but lib\/aws\/sdk_parts.ts does not list it/,
  );
});
