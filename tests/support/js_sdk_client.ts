/**
 * The JS SDK as a client of our servers: `@smithy/credential-provider-imds` (the package behind
 * fromContainerMetadata and fromInstanceMetadata), then STS GetCallerIdentity with what it got.
 * `container-http` uses `fromHttp` of `@aws-sdk/credential-provider-http`, the container provider
 * of the SDK's default chain today.
 * Usage: js_sdk_client.ts container|container-http|instance <sts url>, or `instance-key` (no STS: prints the
 * access key id it got, for networks where no STS is reachable).
 */
import { fromContainerMetadata, fromInstanceMetadata } from "@smithy/credential-provider-imds";
import { fromHttp } from "@aws-sdk/credential-provider-http";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const [mode, stsUrl] = Deno.args;
if (mode === "instance-key") {
  console.log((await fromInstanceMetadata({ timeout: 1000, maxRetries: 1 })()).accessKeyId);
  Deno.exit(0);
}
const provider = mode === "container"
  ? fromContainerMetadata({ timeout: 2000, maxRetries: 2 })
  : mode === "container-http"
  ? fromHttp({ timeout: 2000, maxRetries: 2 })
  : fromInstanceMetadata({ timeout: 1000, maxRetries: 1 });
const client = new STSClient({ region: "us-east-1", endpoint: stsUrl, credentials: provider });
const out = await client.send(new GetCallerIdentityCommand({}));
console.log(JSON.stringify(out.Arn));
