/** The profile picker's keys and screen, without a terminal (tests/e2e/picker_test.ts has one). */
import assert from "node:assert/strict";
import {
  newPicker,
  parseKeys,
  PICKER_PAGE,
  type PickerState,
  pressKey,
  render,
} from "../../lib/picker.ts";

function type(state: PickerState, input: string): { state: PickerState; chosen?: string } {
  let result: { state: PickerState; chosen?: string } = { state };
  for (const key of parseKeys(input)) {
    result = pressKey(result.state, key);
    if (result.chosen !== undefined) return result;
  }
  return result;
}

const ITEMS = ["default", "team/dev", "team/prod", "acme:prod", "Prod Admin"];

Deno.test("picker: Enter takes the first item; arrows move and wrap", () => {
  assert.equal(type(newPicker(ITEMS), "\r").chosen, "default");
  assert.equal(type(newPicker(ITEMS), "\x1b[B\x1b[B\r").chosen, "team/prod");
  assert.equal(type(newPicker(ITEMS), "\x1b[A\r").chosen, "Prod Admin");
  assert.equal(type(newPicker(ITEMS), "\x1bOB\r").chosen, "team/dev", "application cursor keys");
  assert.equal(type(newPicker(ITEMS), "\x0e\x0e\x10\r").chosen, "team/dev", "Ctrl-N / Ctrl-P");
});

Deno.test("picker: typing filters (case-insensitive, substring); backspace widens again", () => {
  assert.equal(type(newPicker(ITEMS), "prod\r").chosen, "team/prod");
  assert.equal(type(newPicker(ITEMS), "PROD\x1b[B\x1b[B\r").chosen, "Prod Admin");
  assert.equal(type(newPicker(ITEMS), "prodx\x7f\x7f\x7f\x7f\x7f\r").chosen, "default");
  const none = type(newPicker(ITEMS), "nothing\r");
  assert.equal(none.chosen, undefined, "Enter with no match chooses nothing");
  assert.deepEqual(render("Choose AWS profile: ", none.state), [
    "Choose AWS profile: nothing",
    "  (no profile matches)",
  ]);
});

Deno.test("picker: other escape sequences and control bytes are ignored, not typed", () => {
  const r = type(newPicker(ITEMS), "\x1b[C\x1b[3~\x1b\x01te\x00am\r");
  assert.equal(r.chosen, "team/dev");
  assert.deepEqual(parseKeys("\x03"), [{ kind: "cancel" }]);
});

Deno.test("picker: the screen shows a window that follows the cursor; names cannot drive the terminal", () => {
  const many = Array.from({ length: 25 }, (_, i) => `p${i}`);
  let state = newPicker(many);
  assert.deepEqual(render("> ", state).slice(0, 3), ["> ", "> p0", "  p1"]);
  assert.equal(render("> ", state).length, PICKER_PAGE + 1);
  for (let i = 0; i < 14; i++) state = pressKey(state, { kind: "down" }).state;
  const lines = render("> ", state);
  assert.equal(lines.at(-1), "> p14");
  assert.equal(lines.length, PICKER_PAGE + 1);
  const hostile = render("? ", newPicker(["\x1b[2Jwipe", "ok\x07"]));
  assert.deepEqual(hostile, ["? ", "> ?[2Jwipe", "  ok?"]);
});
