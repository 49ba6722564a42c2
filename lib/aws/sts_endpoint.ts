/**
 * Where STS calls go: region, signing region and endpoint, from the profile's `region`,
 * `sts_regional_endpoints` and `endpoint_url`. Pure (no SDK), so the cache-hit path stays light.
 */

/** The regions whose STS traffic went to the global endpoint under the `legacy` setting. */
const LEGACY_GLOBAL_REGIONS = new Set([
  "aws-global",
  "ap-northeast-1",
  "ap-south-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ca-central-1",
  "eu-central-1",
  "eu-north-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
]);

/** The global STS endpoint of the commercial partition. */
export const GLOBAL_STS_ENDPOINT = "https://sts.amazonaws.com";

/** What the STS client needs to know about where to send a request. */
export interface StsEndpoint {
  /** The region the request is signed for (and the SDK resolves endpoints in). */
  region: string;
  /** An explicit endpoint URL; undefined lets the SDK pick the regional endpoint. */
  endpoint?: string;
}

/** Inputs to endpoint resolution (all optional: a profile may set none of them). */
export interface StsEndpointOptions {
  region?: string;
  /** `sts_regional_endpoints` (`legacy` or `regional`). */
  stsRegionalEndpoints?: string;
  /** `endpoint_url` or `AWS_ENDPOINT_URL`. */
  endpointUrl?: string;
}

/**
 * Resolves the STS endpoint. Without a region, STS still works through the global endpoint
 * (signed for us-east-1) instead of failing the way aws-vault does.
 */
export function resolveStsEndpoint(options: StsEndpointOptions): StsEndpoint {
  const region = options.region?.trim() || undefined;
  const endpointUrl = options.endpointUrl?.trim() || undefined;
  if (endpointUrl) return { region: region ?? "us-east-1", endpoint: endpointUrl };
  if (!region || region === "aws-global") {
    return { region: "us-east-1", endpoint: GLOBAL_STS_ENDPOINT };
  }
  if (
    options.stsRegionalEndpoints?.toLowerCase() === "legacy" && LEGACY_GLOBAL_REGIONS.has(region)
  ) {
    return { region: "us-east-1", endpoint: GLOBAL_STS_ENDPOINT };
  }
  return { region };
}

/** The DNS suffix of the partition a region belongs to (for messages and non-SDK endpoints). */
export function partitionDnsSuffix(region: string): string {
  if (region.startsWith("cn-")) return "amazonaws.com.cn";
  if (region.startsWith("us-iso-")) return "c2s.ic.gov";
  if (region.startsWith("us-isob-")) return "sc2s.sgov.gov";
  if (region.startsWith("eu-isoe-")) return "cloud.adc-e.uk";
  if (region.startsWith("us-isof-")) return "csp.hci.ic.gov";
  return "amazonaws.com";
}

/** The partition name of a region: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, ... */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  if (region.startsWith("us-iso-")) return "aws-iso";
  if (region.startsWith("us-isob-")) return "aws-iso-b";
  if (region.startsWith("eu-isoe-")) return "aws-iso-e";
  if (region.startsWith("us-isof-")) return "aws-iso-f";
  return "aws";
}
