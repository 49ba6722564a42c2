/**
 * D-Bus server addresses (`DBUS_SESSION_BUS_ADDRESS`), as the D-Bus specification ("Server
 * Addresses") writes them: `transport:key=value,key=value` entries separated by `;`, values
 * %-escaped. Only `unix:path=` and `unix:abstract=` can be connected to from here; the other
 * transports are kept with the reason, so a connection error can name them.
 */

/** Thrown for an address string that does not follow the specification's syntax. */
export class DbusAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DbusAddressError";
  }
}

/** One `;`-separated entry of an address string. */
export interface BusAddress {
  /** The transport name before `:` (`unix`, `tcp`, `autolaunch`...). */
  transport: string;
  /** The decoded key/value pairs. */
  params: Map<string, string>;
  /** The entry as written (no secrets in it: safe for error messages). */
  text: string;
}

/** Where to connect for one address entry: a socket path, or why we cannot. */
export type SocketTarget =
  | {
    kind: "unix";
    /** A file system path, or for an abstract socket `\0` + the name (Deno's spelling). */
    path: string;
    /** The server's GUID when the address names one (checked after authentication). */
    guid?: string;
    /** The address entry as written. */
    text: string;
  }
  | { kind: "unsupported"; reason: string; text: string };

/** %-escapes an address value (bytes outside the specification's optionally-escaped set). */
export function escapeAddressValue(value: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(value)) {
    const c = String.fromCharCode(b);
    out += /[-0-9A-Za-z_/.\\*]/.test(c) ? c : `%${b.toString(16).padStart(2, "0")}`;
  }
  return out;
}

/** Decodes a %-escaped address value to a string (bytes read as UTF-8). */
function unescapeValue(raw: string, entry: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === "%") {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) {
        throw new DbusAddressError(`bad %-escape in D-Bus address '${entry}'`);
      }
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      // Unescaped bytes outside the optionally-escaped set are tolerated (libdbus does too).
      for (const b of new TextEncoder().encode(c)) bytes.push(b);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Parses an address string into its entries; empty entries (`a;;b`, a trailing `;`) are skipped. */
export function parseBusAddress(text: string): BusAddress[] {
  const out: BusAddress[] = [];
  for (const entry of text.split(";")) {
    if (entry === "") continue;
    const colon = entry.indexOf(":");
    if (colon <= 0) throw new DbusAddressError(`D-Bus address '${entry}' has no transport`);
    const params = new Map<string, string>();
    const rest = entry.slice(colon + 1);
    if (rest !== "") {
      for (const pair of rest.split(",")) {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new DbusAddressError(`D-Bus address '${entry}' has a bad key=value`);
        const key = pair.slice(0, eq);
        if (params.has(key)) {
          throw new DbusAddressError(`D-Bus address '${entry}' repeats '${key}'`);
        }
        params.set(key, unescapeValue(pair.slice(eq + 1), entry));
      }
    }
    out.push({ transport: entry.slice(0, colon), params, text: entry });
  }
  return out;
}

/** Where a client connects for one address entry. */
export function socketTarget(address: BusAddress): SocketTarget {
  const { transport, params, text } = address;
  const unsupported = (reason: string): SocketTarget => ({ kind: "unsupported", reason, text });
  if (transport !== "unix") {
    return unsupported(`transport '${transport}' is not supported (only unix sockets)`);
  }
  const path = params.get("path");
  const abstract = params.get("abstract");
  if (path !== undefined && abstract !== undefined) {
    return unsupported("both path= and abstract= are given");
  }
  const guid = params.get("guid");
  if (guid !== undefined && !/^[0-9a-fA-F]{32}$/.test(guid)) {
    return unsupported("guid= is not 32 hex digits");
  }
  if (path !== undefined && path !== "") return { kind: "unix", path, guid, text };
  if (abstract !== undefined) {
    if (Deno.build.os !== "linux") return unsupported("abstract sockets exist only on Linux");
    return { kind: "unix", path: `\0${abstract}`, guid, text };
  }
  for (const key of ["tmpdir", "dir", "runtime"]) {
    if (params.has(key)) return unsupported(`unix:${key}= is for servers to listen on`);
  }
  return unsupported("unix address without path= or abstract=");
}
