/**
 * Custom endpoints, by the AWS SDKs' rules: a service-specific `AWS_ENDPOINT_URL_<SERVICE>`
 * beats the profile's `endpoint_url` (which lib/config already lets `AWS_ENDPOINT_URL` beat);
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns them all off. Pure, so it costs nothing on
 * the cache-hit path.
 */
import type { Env } from "../runtime.ts";
import { partitionDnsSuffix } from "./sts_endpoint.ts";

/** The services aws-vault calls, as their `AWS_ENDPOINT_URL_<SERVICE>` suffix spells them. */
export type AwsService = "STS" | "SSO" | "SSO_OIDC" | "IAM";

/** The endpoint URL to use for `service`, or undefined for the SDK's default. */
export function configuredEndpoint(
  service: AwsService,
  env: Env,
  profileEndpointUrl: string | undefined,
): string | undefined {
  if (env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.trim().toLowerCase() === "true") {
    return undefined;
  }
  const specific = env.get(`AWS_ENDPOINT_URL_${service}`)?.trim();
  if (specific) return specific;
  return profileEndpointUrl?.trim() || undefined;
}

/**
 * The IAM Identity Center OIDC endpoint of a region, for the browser's authorization URL (the
 * SDK resolves the same host for its own calls).
 */
export function oidcEndpoint(region: string, override?: string): string {
  if (override) return override.replace(/\/+$/, "");
  return `https://oidc.${region}.${partitionDnsSuffix(region)}`;
}
