/**
 * JSON as Go's encoding/json writes and reads it, so items we store are byte-identical to
 * aws-vault's and items it stores decode here.
 */

/** Escapes what Go's encoding/json escapes in strings (`<`, `>`, `&`, U+2028, U+2029). */
export function goJsonEscape(json: string): string {
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Parses a JSON object and returns its fields keyed by lowercased name (Go matches field names
 * case-insensitively); undefined when the text is not a JSON object.
 */
export function parseGoObject(text: string): Map<string, unknown> | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  return objectFields(raw);
}

/** The fields of a parsed JSON value keyed by lowercased name, when it is an object. */
export function objectFields(raw: unknown): Map<string, unknown> | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const fields = new Map<string, unknown>();
  for (const [k, v] of Object.entries(raw)) fields.set(k.toLowerCase(), v);
  return fields;
}

/** A string field, or undefined. */
export function stringField(fields: Map<string, unknown>, name: string): string | undefined {
  const v = fields.get(name.toLowerCase());
  return typeof v === "string" ? v : undefined;
}

/** A time field in RFC 3339 form, or undefined when absent, Go's zero time, or invalid. */
export function timeField(fields: Map<string, unknown>, name: string): Date | undefined {
  const v = stringField(fields, name);
  if (v === undefined || v.startsWith("0001-01-01")) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
