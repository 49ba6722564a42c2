/** `aws-vault rotate`: not implemented yet. */
import { NotImplementedError } from "../errors.ts";
import type { CommandContext } from "./global.ts";

/** Runs the command; returns the exit code. */
export function rotateCommand(_ctx: CommandContext, ..._args: unknown[]): Promise<number> {
  return Promise.reject(new NotImplementedError("'aws-vault rotate'"));
}
