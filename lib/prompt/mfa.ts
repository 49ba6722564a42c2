/**
 * Where MFA codes come from, in aws-vault's order: `--mfa-token`, the profile's `mfa_process`,
 * then the prompt driver. Every code is checked against the used-code ledger first: AWS accepts
 * a code once, so a repeat waits for the next TOTP window instead of failing at AWS.
 */
import { UserError } from "../errors.ts";
import type { PromptDriver } from "./drivers.ts";
import { codeHash, TOTP_WINDOW_MS, type UsedCodeLedger } from "./used_codes.ts";
import { sleep as sleepFor } from "../timer.ts";

/** Per-call MFA settings of a profile. */
export interface MfaRequest {
  /** The device serial (`mfa_serial`). */
  serial: string;
  /** `--mfa-token`: a fixed code for this run. */
  fixedCode?: string;
  /** `mfa_process`: a shell command printing the code. */
  mfaProcess?: string;
}

/** What an MFA source needs. */
export interface MfaDeps {
  /** The prompt driver, chosen on first use (so selection costs nothing when no MFA is needed). */
  driver: () => Promise<PromptDriver>;
  ledger: UsedCodeLedger;
  now: () => Date;
  /** One line to the user, e.g. on stderr. */
  notice: (text: string) => void;
  /** The environment of `mfa_process`. */
  env?: Record<string, string>;
  sleep?: (ms: number) => Promise<void>;
  /** The operating system (the runtime's): `mfa_process` runs under its shell. */
  os: typeof Deno.build.os;
}

/** Gets MFA codes; counts the prompts it made (for tests and debug lines). */
export class MfaCodes {
  /** How many times a person or program was asked for a code. */
  prompts = 0;
  readonly #deps: MfaDeps;

  constructor(deps: MfaDeps) {
    this.#deps = deps;
  }

  /** A code for this device that has not been sent before. */
  async code(req: MfaRequest): Promise<string> {
    const sleep = this.#deps.sleep ?? sleepFor;
    const automatic = req.fixedCode === undefined && req.mfaProcess !== undefined;
    for (let attempt = 0;; attempt++) {
      const window = Math.floor(this.#deps.now().getTime() / TOTP_WINDOW_MS);
      const last = await this.#deps.ledger.lastUse(req.serial);
      // A program would print the same code again within its window: wait for the next one.
      if (automatic && last?.window === window) await this.#waitForNextWindow(req.serial, sleep);
      const code = normalise(await this.#obtain(req), req.serial);
      const hash = await codeHash(req.serial, code);
      const now = Math.floor(this.#deps.now().getTime() / TOTP_WINDOW_MS);
      // Checked and recorded in one step under the ledger's lock: two processes holding the
      // same code (profiles sharing a device) cannot both send it.
      const clash = await this.#deps.ledger.claim(req.serial, { window: now, codeHash: hash }, 2);
      if (clash === undefined) return code;
      if (req.fixedCode !== undefined) {
        throw new UserError(
          `the MFA code given with --mfa-token was already used for ${req.serial}; AWS accepts each code once: run again with the next code`,
        );
      }
      if (attempt >= 2) {
        throw new UserError(`MFA code for ${req.serial} was already used; enter the next code`);
      }
      await this.#waitForNextWindow(req.serial, sleep);
    }
  }

  async #waitForNextWindow(serial: string, sleep: (ms: number) => Promise<void>): Promise<void> {
    const nowMs = this.#deps.now().getTime();
    const wait = TOTP_WINDOW_MS - (nowMs % TOTP_WINDOW_MS) + 500;
    this.#deps.notice(
      `MFA code for ${serial} was already used; waiting ${
        Math.ceil(wait / 1000)
      }s for the next code`,
    );
    await sleep(wait);
  }

  async #obtain(req: MfaRequest): Promise<string> {
    if (req.fixedCode !== undefined) return req.fixedCode;
    this.prompts++;
    if (req.mfaProcess !== undefined) {
      const argv = this.#deps.os === "windows"
        ? ["cmd.exe", "/C", req.mfaProcess]
        : ["/bin/sh", "-c", req.mfaProcess];
      // The process runner loads only when a code is asked for (start-up of every command).
      const { runPromptProcess } = await import("./prompt_process.ts");
      return await runPromptProcess(argv, {
        label: "mfa_process",
        env: this.#deps.env,
        attachTty: true,
        os: this.#deps.os,
      });
    }
    const driver = await this.#deps.driver();
    return await driver(req.serial);
  }
}

/** Trims a code and checks its shape, without ever putting the code in a message. */
function normalise(raw: string, serial: string): string {
  const code = raw.trim();
  if (code === "") throw new UserError(`MFA prompt cancelled: no code entered for ${serial}`);
  if (!/^\d{6}$/.test(code)) {
    throw new UserError(`MFA code for ${serial} must be 6 digits`);
  }
  return code;
}
