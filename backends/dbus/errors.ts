/**
 * What can go wrong talking to a bus. Every failure of backends/dbus is a DbusError; callers
 * tell the kinds apart with instanceof, and remote errors by their D-Bus error name.
 */

/** Base class of every failure of the D-Bus client. */
export class DbusError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "DbusError";
  }
}

/** No bus could be reached or authenticated to (not running, socket missing, refused). */
export class DbusConnectError extends DbusError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "DbusConnectError";
  }
}

/** The connection ended (closed by us, the bus went away, or it broke the protocol). */
export class DbusDisconnectedError extends DbusError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "DbusDisconnectedError";
  }
}

/** No reply within the call's deadline. */
export class DbusTimeoutError extends DbusError {
  constructor(message: string) {
    super(message);
    this.name = "DbusTimeoutError";
  }
}

/** An ERROR reply: `errorName` is the D-Bus error name, the message the reply's text. */
export class DbusRemoteError extends DbusError {
  /** E.g. `org.freedesktop.DBus.Error.ServiceUnknown`. */
  readonly errorName: string;
  constructor(errorName: string, text: string) {
    super(text ? `${errorName}: ${text}` : errorName);
    this.name = "DbusRemoteError";
    this.errorName = errorName;
  }
}

/** Well-known error names callers test for. */
export const DbusErrorNames = {
  SERVICE_UNKNOWN: "org.freedesktop.DBus.Error.ServiceUnknown",
  NAME_HAS_NO_OWNER: "org.freedesktop.DBus.Error.NameHasNoOwner",
  UNKNOWN_METHOD: "org.freedesktop.DBus.Error.UnknownMethod",
  UNKNOWN_OBJECT: "org.freedesktop.DBus.Error.UnknownObject",
  NO_REPLY: "org.freedesktop.DBus.Error.NoReply",
} as const;
