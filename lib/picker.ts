/**
 * The list picker's state, without any I/O: what a key does (type to filter, arrows to move,
 * Enter to choose) and what the terminal shows. lib/terminal.ts drives it on a raw terminal.
 */

/** One keystroke, as the picker understands it. */
export type PickerKey =
  | { kind: "text"; text: string }
  | { kind: "up" | "down" | "enter" | "backspace" | "cancel" | "ignore" };

/** The picker's state. */
export interface PickerState {
  items: readonly string[];
  query: string;
  /** Index into the filtered list. */
  cursor: number;
}

/** The most entries shown at once; the window follows the cursor. */
export const PICKER_PAGE = 10;

/** A fresh picker over the items. */
export function newPicker(items: readonly string[]): PickerState {
  return { items, query: "", cursor: 0 };
}

/** The items that contain the query (case-insensitive), in their order. */
export function filtered(state: PickerState): string[] {
  const q = state.query.toLowerCase();
  return state.items.filter((item) => item.toLowerCase().includes(q));
}

/** Applies one key: the new state, and the chosen item on Enter (when one matches). */
export function pressKey(
  state: PickerState,
  key: PickerKey,
): { state: PickerState; chosen?: string } {
  const shown = filtered(state);
  switch (key.kind) {
    case "text": {
      const text = [...key.text].filter((c) => c >= " " && c !== "\x7f").join("");
      return { state: { ...state, query: state.query + text, cursor: 0 } };
    }
    case "backspace":
      return { state: { ...state, query: [...state.query].slice(0, -1).join(""), cursor: 0 } };
    case "up":
    case "down": {
      if (shown.length === 0) return { state };
      const step = key.kind === "up" ? -1 : 1;
      return { state: { ...state, cursor: (state.cursor + step + shown.length) % shown.length } };
    }
    case "enter":
      return { state, chosen: shown[state.cursor] };
    default:
      return { state };
  }
}

/** Splits terminal input into keys (arrow keys arrive as `ESC [ A` or `ESC O A`). */
export function parseKeys(input: string): PickerKey[] {
  const keys: PickerKey[] = [];
  let text = "";
  const flush = () => {
    if (text !== "") keys.push({ kind: "text", text });
    text = "";
  };
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c === "\x1b") {
      flush();
      // deno-lint-ignore no-control-regex
      const seq = /^\x1b[[O]([0-9;]*)([A-Za-z~])/.exec(input.slice(i));
      if (seq) {
        keys.push({ kind: seq[2] === "A" ? "up" : seq[2] === "B" ? "down" : "ignore" });
        i += seq[0].length - 1;
      } else {
        keys.push({ kind: "ignore" });
      }
    } else if (c === "\r" || c === "\n") {
      flush();
      keys.push({ kind: "enter" });
    } else if (c === "\x7f" || c === "\b") {
      flush();
      keys.push({ kind: "backspace" });
    } else if (c === "\x03") {
      flush();
      keys.push({ kind: "cancel" });
    } else if (c === "\x10" || c === "\x0e") {
      flush();
      keys.push({ kind: c === "\x10" ? "up" : "down" }); // Ctrl-P / Ctrl-N
    } else if (c >= " ") {
      text += c;
    }
  }
  flush();
  return keys;
}

/** The lines the picker shows: the prompt with the query, then a window of matching items. */
export function render(prompt: string, state: PickerState): string[] {
  const shown = filtered(state);
  const start = Math.min(
    Math.max(0, state.cursor - PICKER_PAGE + 1),
    Math.max(0, shown.length - PICKER_PAGE),
  );
  const lines = [`${prompt}${printable(state.query)}`];
  if (shown.length === 0) lines.push("  (no profile matches)");
  for (let i = start; i < Math.min(shown.length, start + PICKER_PAGE); i++) {
    lines.push(`${i === state.cursor ? ">" : " "} ${printable(shown[i])}`);
  }
  return lines;
}

/** Control characters shown as `?`, so a hostile name cannot drive the terminal. */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
}
