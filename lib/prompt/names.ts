/** The `--prompt` driver names, and which of them this build cannot serve. */

/** Every prompt driver `--prompt` accepts. */
export const PROMPT_NAMES = [
  "terminal",
  "kdialog",
  "osascript",
  "wincredui",
  "ykman",
  "zenity",
] as const;

/** One `--prompt` name. */
export type PromptName = typeof PROMPT_NAMES[number];

/** Drivers accepted for compatibility that this build does not implement. */
export const UNSERVABLE_PROMPTS: readonly PromptName[] = ["wincredui"];
