/**
 * The JS SDK as a client of our servers: `@smithy/credential-provider-imds` (the package behind
 * fromContainerMetadata and fromInstanceMetadata), then STS GetCallerIdentity with what it got.
 * Usage: js_sdk_client.ts container|instance <sts url>
 */
import { fromContainerMetadata, fromInstanceMetadata } from "@smithy/credential-provider-imds";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const [mode, stsUrl] = Deno.args;
const provider = mode === "container"
  ? fromContainerMetadata({ timeout: 2000, maxRetries: 2 })
  : fromInstanceMetadata({ timeout: 1000, maxRetries: 1 });
const client = new STSClient({ region: "us-east-1", endpoint: stsUrl, credentials: provider });
const out = await client.send(new GetCallerIdentityCommand({}));
console.log(JSON.stringify(out.Arn));
