/**
 * The bundle's SDK module holds only the names lib/aws/sdk_parts.ts lists: every listed name is
 * a class the real package exports, the generated entry reads exactly those, and a package the
 * program imports without a list stops the build. It holds no default credential chain: its
 * `defaultProvider` fails, and any other use of that package, or an import of a file beside the
 * module, stops the build.
 */
import assert from "node:assert/strict";
import { SDK_PARTS } from "../../lib/aws/sdk_parts.ts";
import { prepareSdkModule, sdkEntry } from "../../scripts/bundle.ts";

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

/** Imports module text (no imports of its own) and returns its exports. */
function load(text: string): Promise<Record<string, unknown>> {
  return import(`data:text/javascript;base64,${new TextEncoder().encode(text).toBase64()}`);
}

Deno.test("prepareSdkModule: the default credential chain becomes a provider that fails", async () => {
  for (
    const head of [
      'import{defaultProvider as DM}from"@aws-sdk/credential-provider-node";',
      'import { defaultProvider as DM } from "@aws-sdk/credential-provider-node"\n',
      'import{defaultProvider}from"@aws-sdk/credential-provider-node";var DM=defaultProvider;',
    ]
  ) {
    // As a client's runtime config does: the provider is made from the config, called later.
    const sdk = await load(
      prepareSdkModule(
        `${head}var pkg={dependencies:{"@aws-sdk/credential-provider-node":"^3.972.97"}};` +
          "export const provider=DM({region:'us-east-1'});export{pkg};",
      ),
    );
    assert.equal(typeof sdk.provider, "function");
    await assert.rejects(
      (sdk.provider as () => Promise<unknown>)(),
      /the AWS SDK's default credential chain is not in this build: aws-vault passes the credentials of every call itself/,
    );
  }
});

Deno.test("prepareSdkModule: another use of the chain, or a file beside the module, stops the build", () => {
  for (
    const text of [
      'import*as C from"@aws-sdk/credential-provider-node";export{C};',
      'import{fromIni as F}from"@aws-sdk/credential-provider-node";export{F};',
      'import{defaultProvider as D,fromIni as F}from"@aws-sdk/credential-provider-node";',
      'export const c=()=>import("@aws-sdk/credential-provider-node");',
    ]
  ) {
    assert.throws(
      () => prepareSdkModule(text),
      /uses @aws-sdk\/credential-provider-node for more than defaultProvider|refers to files beside it/,
      text,
    );
  }
  for (
    const text of [
      'import{a as b}from"./chunk-ABC.js";export{b};',
      'import { a } from "@smithy/core";',
      "export const u=import.meta.url;",
      'export const m=()=>import("./other.js");',
    ]
  ) {
    assert.throws(() => prepareSdkModule(text), /refers to files beside it/, text);
  }
  const node = 'import{createRequire as q}from"node:module";var r=q(import.meta.url);export{r};';
  assert.equal(prepareSdkModule(node), node, "Node built-ins through createRequire are fine");
});
