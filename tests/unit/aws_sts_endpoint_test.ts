/** Where STS calls go: region, sts_regional_endpoints, endpoint_url. */
import assert from "node:assert/strict";
import { resolveStsEndpoint } from "../../lib/aws/sts_endpoint.ts";

Deno.test("no region: the global endpoint signed for us-east-1, not an error", () => {
  assert.deepEqual(resolveStsEndpoint({}), {
    region: "us-east-1",
    endpoint: "https://sts.amazonaws.com",
  });
});

Deno.test("a region uses the SDK's regional endpoint; legacy sends the 16 old regions global", () => {
  assert.deepEqual(resolveStsEndpoint({ region: "eu-west-1" }), { region: "eu-west-1" });
  assert.deepEqual(resolveStsEndpoint({ region: "eu-west-1", stsRegionalEndpoints: "legacy" }), {
    region: "us-east-1",
    endpoint: "https://sts.amazonaws.com",
  });
  assert.deepEqual(resolveStsEndpoint({ region: "af-south-1", stsRegionalEndpoints: "legacy" }), {
    region: "af-south-1",
  });
  assert.deepEqual(resolveStsEndpoint({ region: "cn-north-1", stsRegionalEndpoints: "legacy" }), {
    region: "cn-north-1",
  });
});

Deno.test("endpoint_url wins over everything, keeping the configured region", () => {
  assert.deepEqual(
    resolveStsEndpoint({ region: "eu-west-1", endpointUrl: "http://127.0.0.1:5000" }),
    { region: "eu-west-1", endpoint: "http://127.0.0.1:5000" },
  );
  assert.deepEqual(resolveStsEndpoint({ endpointUrl: "http://127.0.0.1:5000" }), {
    region: "us-east-1",
    endpoint: "http://127.0.0.1:5000",
  });
});
