/** `aws-vault login`: not implemented yet (the table marks it `notBuilt`). */
import { NotImplementedError } from "../errors.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { LOGIN } from "./table.ts";

/** Runs the command; returns the exit code. */
export function loginCommand(_ctx: CommandContext, _input: InputOf<typeof LOGIN>): Promise<number> {
  return Promise.reject(new NotImplementedError("'aws-vault login'"));
}
