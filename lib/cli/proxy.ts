/** `aws-vault proxy`: not implemented yet (the table marks it `notBuilt`). */
import { NotImplementedError } from "../errors.ts";
import type { CommandContext } from "./global.ts";
import type { InputOf } from "./spec.ts";
import type { PROXY } from "./table.ts";

/** Runs the command; returns the exit code. */
export function proxyCommand(_ctx: CommandContext, _input: InputOf<typeof PROXY>): Promise<number> {
  return Promise.reject(new NotImplementedError("'aws-vault proxy'"));
}
