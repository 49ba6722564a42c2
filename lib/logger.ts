/**
 * Debug output, passed down to whatever may want to explain itself under `--debug`. Messages are
 * for people reading a trace: never secrets (no keys, tokens, passphrases or MFA codes).
 */

/** Where debug lines go. */
export interface Logger {
  /** Whether debug lines are written (main.ts then also shows a bug's stack trace). */
  readonly debugEnabled: boolean;
  /** Writes one debug line when enabled. */
  debug(message: string): void;
}

/** A logger that is off until the command line turns it on with `--debug`. */
export class DebugLogger implements Logger {
  #enabled = false;
  readonly #write: (text: string) => void;

  /** `write` receives whole lines (`aws-vault: debug: ...\n`), typically stderr. */
  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  get debugEnabled(): boolean {
    return this.#enabled;
  }

  /** Turns debug output on (once `--debug` is parsed as ours, not as an argument of exec's child). */
  enable(): void {
    this.#enabled = true;
  }

  debug(message: string): void {
    if (this.#enabled) this.#write(`aws-vault: debug: ${message}\n`);
  }
}

/** A logger that writes nothing. */
export const SILENT_LOGGER: Logger = { debugEnabled: false, debug: () => {} };
