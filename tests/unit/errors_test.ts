/** lib/errors.ts: the one line an error is shown as. */
import assert from "node:assert/strict";
import { errorLine, UserError } from "../../lib/errors.ts";

Deno.test("errorLine: one line, control characters escaped, long messages cut", () => {
  assert.equal(
    errorLine(new UserError("profile 'a\x1b[1mb' not found")),
    "profile 'a\\x1b[1mb' not found",
  );
  assert.equal(errorLine(new Error("first\n  se\rcond\r\n\n")), "first se\\x0dcond");
  assert.equal(errorLine(new Error("tab\there\x7f\u009b")), "tab\\x09here\\x7f\\x9b");
  assert.equal(errorLine(new TypeError("")), "TypeError");
  assert.equal(errorLine("a\x1bb"), "a\\x1bb");
  assert.equal(errorLine(new Error("non-ASCII é 東京 stays")), "non-ASCII é 東京 stays");
  const long = errorLine(new Error("x".repeat(100_000)));
  assert.equal(long.length, 2000);
  assert.ok(long.endsWith("..."));
});
