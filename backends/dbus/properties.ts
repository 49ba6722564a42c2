/** org.freedesktop.DBus.Properties: reading an object's properties, variants unwrapped. */
import type { CallOptions, DbusConnection } from "./connection.ts";
import type { DbusValue, Variant } from "./wire.ts";
import { DbusError } from "./errors.ts";

const PROPERTIES = "org.freedesktop.DBus.Properties";

/** The object whose properties are read. */
export interface ObjectRef {
  destination: string;
  path: string;
}

/** One property's value (Properties.Get), with its variant unwrapped. */
export async function getProperty(
  bus: DbusConnection,
  object: ObjectRef,
  iface: string,
  name: string,
  options: CallOptions = {},
): Promise<DbusValue> {
  const reply = await bus.call({
    ...object,
    interface: PROPERTIES,
    member: "Get",
    signature: "ss",
    body: [iface, name],
  }, options);
  if (reply.signature !== "v") {
    throw new DbusError(`Properties.Get of ${name} answered '${reply.signature}', not a variant`);
  }
  return (reply.body[0] as Variant).value;
}

/** All of an interface's properties (Properties.GetAll), variants unwrapped. */
export async function getAllProperties(
  bus: DbusConnection,
  object: ObjectRef,
  iface: string,
  options: CallOptions = {},
): Promise<Map<string, DbusValue>> {
  const reply = await bus.call({
    ...object,
    interface: PROPERTIES,
    member: "GetAll",
    signature: "s",
    body: [iface],
  }, options);
  if (reply.signature !== "a{sv}") {
    throw new DbusError(`Properties.GetAll answered '${reply.signature}', not a{sv}`);
  }
  const out = new Map<string, DbusValue>();
  for (const [k, v] of reply.body[0] as Map<DbusValue, DbusValue>) {
    out.set(String(k), (v as Variant).value);
  }
  return out;
}
