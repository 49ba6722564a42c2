/** Request limits for every SDK client we build: a hanging service ends in an error, not a hang. */

/** The SDK's request handler settings: each request ends after `requestTimeoutMs` (30 s). */
export function boundedRequests(requestTimeoutMs = 30_000): {
  requestTimeout: number;
  connectionTimeout: number;
  throwOnRequestTimeout: boolean;
} {
  return {
    requestTimeout: requestTimeoutMs,
    connectionTimeout: Math.min(requestTimeoutMs, 10_000),
    throwOnRequestTimeout: true,
  };
}
