/**
 * The controlling terminal. Prompts read from it, not from stdin, so they work when stdin or
 * stdout is piped (credential_process, `aws-vault add < file`).
 */
import { UserError } from "./errors.ts";

/** A line-oriented terminal for prompts. */
export interface Terminal {
  /**
   * Writes `prompt` and reads one line. With `echo: false` the typed text is not shown.
   * Throws a UserError when there is no terminal or input ends before a line is read.
   */
  readLine(prompt: string, options?: { echo?: boolean }): Promise<string>;
  /**
   * Shows `prompt` and a list to pick from (type to filter, arrows to move, Enter to choose);
   * returns the chosen item. Throws a UserError when there is no terminal or on Ctrl-C.
   * Optional: test terminals without it have no picker.
   */
  choose?(prompt: string, items: readonly string[]): Promise<string>;
}

/** The process's controlling terminal (/dev/tty, or CONIN$/CONOUT$ on Windows). */
export function ttyTerminal(): Terminal {
  return {
    async readLine(prompt, options = {}) {
      const echo = options.echo ?? true;
      let tty: Deno.FsFile;
      try {
        tty = await Deno.open(Deno.build.os === "windows" ? "CONIN$" : "/dev/tty", {
          read: true,
          write: Deno.build.os !== "windows",
        });
      } catch {
        throw new UserError(`cannot prompt: no terminal available (${prompt.trim()})`);
      }
      try {
        return await readLineFrom(tty, prompt, echo);
      } finally {
        tty.close();
      }
    },
    async choose(prompt, items) {
      let tty: Deno.FsFile;
      try {
        tty = await Deno.open("/dev/tty", { read: true, write: true });
      } catch {
        throw new UserError(`cannot prompt: no terminal available (${prompt.trim()})`);
      }
      try {
        return await chooseOn(tty, prompt, items);
      } finally {
        tty.close();
      }
    },
  };
}

async function chooseOn(
  tty: Deno.FsFile,
  prompt: string,
  items: readonly string[],
): Promise<string> {
  // Loaded here: every command builds the terminal, few ever show the picker.
  const { newPicker, parseKeys, pressKey, render } = await import("./picker.ts");
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  let state = newPicker(items);
  let drawn = 0;
  const draw = async (lines: string[]) => {
    // Back to the prompt line, clear to the end of the screen, draw again.
    const up = drawn > 1 ? `\x1b[${drawn - 1}A` : "";
    await tty.write(enc.encode(`${up}\r\x1b[J${lines.join("\r\n")}`));
    drawn = lines.length;
  };
  tty.setRaw(true); // see readLineFrom: Ctrl-C must be a byte we handle
  const buf = new Uint8Array(256);
  try {
    await draw(render(prompt, state));
    for (;;) {
      const n = await tty.read(buf);
      if (n === null) throw new UserError("input ended before a profile was chosen");
      for (const key of parseKeys(dec.decode(buf.subarray(0, n), { stream: true }))) {
        if (key.kind === "cancel") {
          await draw([prompt]);
          await tty.write(enc.encode("\r\n"));
          throw new UserError("prompt cancelled", { exitCode: 130 });
        }
        const next = pressKey(state, key);
        state = next.state;
        if (next.chosen !== undefined) {
          await draw([`${prompt}${render("", { ...state, query: next.chosen })[0]}`]);
          await tty.write(enc.encode("\r\n"));
          return next.chosen;
        }
        await draw(render(prompt, state));
      }
    }
  } finally {
    tty.setRaw(false);
  }
}

const CTRL_C = 3;
const CTRL_D = 4;
const BACKSPACE = [8, 127];

async function readLineFrom(tty: Deno.FsFile, prompt: string, echo: boolean): Promise<string> {
  const enc = new TextEncoder();
  // Raw mode before the prompt is shown, so nothing typed early is echoed by the terminal.
  // Not cbreak: Ctrl-C must arrive as a byte we handle, because a SIGINT would end the process
  // before the finally below restores the terminal, leaving the user's shell without echo.
  tty.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(256);
  try {
    await tty.write(enc.encode(prompt));
    for (;;) {
      const n = await tty.read(buf);
      if (n === null) throw new UserError("input ended before a line was read");
      for (const b of buf.subarray(0, n)) {
        if (b === 13 || b === 10) {
          await tty.write(enc.encode("\r\n"));
          return new TextDecoder().decode(new Uint8Array(bytes));
        }
        // 130: the exit code of a command interrupted by Ctrl-C.
        if (b === CTRL_C) throw new UserError("prompt cancelled", { exitCode: 130 });
        if (b === CTRL_D) {
          if (bytes.length === 0) throw new UserError("input ended before a line was read");
          continue;
        }
        if (BACKSPACE.includes(b)) {
          if (bytes.length > 0) {
            // Remove one UTF-8 character.
            while ((bytes[bytes.length - 1] & 0xc0) === 0x80) bytes.pop();
            bytes.pop();
            if (echo) await tty.write(enc.encode("\b \b"));
          }
          continue;
        }
        bytes.push(b);
        if (echo) await tty.write(Uint8Array.of(b));
      }
    }
  } finally {
    tty.setRaw(false);
  }
}
