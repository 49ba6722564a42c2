/**
 * What a browser sign-in needs from the outside world: a way to open the browser, a line to
 * the user, an abortable sleep, and Ctrl-C. The CLI passes real ones; tests pass their own.
 */
import { UserError } from "../errors.ts";

/** The user-facing side of a sign-in. */
export interface SignInUi {
  /**
   * Opens a URL in the user's browser and resolves true once the opener ran; undefined when no
   * browser can be opened here (then the device-code flow is used).
   */
  openBrowser?: (url: string) => Promise<boolean>;
  /** One message to the user (stderr). */
  notice(text: string): void;
  /** Waits `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Runs `fn` with a signal that Ctrl-C aborts. */
  interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

/** How the user asked to sign in. */
export interface SignInChoice {
  /** `--use-device-code`. */
  useDeviceCode?: boolean;
  /** `--stdout`: print the link, do not open a browser. */
  printOnly?: boolean;
}

/** The error of a sign-in the user cancelled with Ctrl-C (exit code 130, as shells report). */
export function cancelled(startUrl: string): UserError {
  return new UserError(`SSO sign-in for ${startUrl} was cancelled`, { exitCode: 130 });
}

/** Throws `cancelled` when the signal has fired. */
export function throwIfCancelled(signal: AbortSignal, startUrl: string): void {
  if (signal.aborted) throw cancelled(startUrl);
}

/** A sleep that an AbortSignal cuts short (rejects). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs `fn` with a signal that Ctrl-C (SIGINT) aborts while it runs. */
export async function onInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort(new Error("interrupted"));
  Deno.addSignalListener("SIGINT", abort);
  try {
    return await fn(controller.signal);
  } finally {
    Deno.removeSignalListener("SIGINT", abort);
  }
}
