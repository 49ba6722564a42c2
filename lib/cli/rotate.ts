/** `aws-vault rotate`: not implemented yet (the table marks it `notBuilt`). */
import { NotImplementedError } from "../errors.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { ROTATE } from "./table.ts";

/** Runs the command; returns the exit code. */
export function rotateCommand(
  _ctx: CommandContext,
  _input: InputOf<typeof ROTATE>,
): Promise<number> {
  return Promise.reject(new NotImplementedError("'aws-vault rotate'"));
}
