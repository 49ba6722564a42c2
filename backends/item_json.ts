/**
 * aws-vault's JSON form of a keyring Item (Go field names, `Data` as standard base64 with
 * padding), as the file, pass, secret-service and kwallet backends store it.
 */
import { type Item, KeyringError } from "./keyring.ts";
import { base64ToBytes, bytesToBase64 } from "../lib/encoding.ts";

/** Encodes an item exactly as aws-vault does (field order included). */
export function encodeItemJson(item: Item): string {
  return JSON.stringify({
    Key: item.key,
    Data: bytesToBase64(item.data),
    Label: item.label,
    Description: item.description,
    KeychainNotTrustApplication: item.keychainNotTrustApplication,
    KeychainNotSynchronizable: item.keychainNotSynchronizable,
  });
}

/** Decodes aws-vault's Item JSON; field names match case-insensitively, as Go's decoder does. */
export function decodeItemJson(text: string, context: string): Item {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new KeyringError(`${context}: item is not valid JSON`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new KeyringError(`${context}: item is not a JSON object`);
  }
  const fields = new Map<string, unknown>();
  for (const [k, v] of Object.entries(raw)) fields.set(k.toLowerCase(), v);
  const str = (name: string): string => {
    const v = fields.get(name);
    return typeof v === "string" ? v : "";
  };
  let data: Uint8Array;
  try {
    data = base64ToBytes(str("data"));
  } catch {
    throw new KeyringError(`${context}: item data is not valid base64`);
  }
  return {
    key: str("key"),
    data,
    label: str("label"),
    description: str("description"),
    keychainNotTrustApplication: fields.get("keychainnottrustapplication") === true,
    keychainNotSynchronizable: fields.get("keychainnotsynchronizable") === true,
  };
}
