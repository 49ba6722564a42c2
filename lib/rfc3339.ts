/** Times as aws-vault (Go) writes them: RFC 3339 in UTC. */

/** Go's RFC3339 in UTC (whole seconds): `2024-01-01T12:00:00Z`. */
export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** Go's RFC3339Nano in UTC (no trailing zeros): `2024-01-01T12:00:00Z`, `...T12:00:00.5Z`. */
export function rfc3339Nano(date: Date): string {
  const iso = date.toISOString();
  const fraction = iso.slice(20, 23).replace(/0+$/, "");
  return `${iso.slice(0, 19)}${fraction ? "." + fraction : ""}Z`;
}
