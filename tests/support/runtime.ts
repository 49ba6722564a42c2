/** A Runtime for in-process tests: fixed environment, settable clock, captured output. */
import { envFromObject, type Runtime } from "../../lib/runtime.ts";
import { UserError } from "../../lib/errors.ts";

/** A test runtime plus what it captured. */
export interface TestRuntime extends Runtime {
  /** Everything written to stdout. */
  out: string[];
  /** Everything written to stderr. */
  err: string[];
  /** Prompts shown on the terminal, in order. */
  prompts: string[];
  /** Sets the clock. */
  setNow(date: Date): void;
}

/** Options for testRuntime. */
export interface TestRuntimeOptions {
  env?: Record<string, string>;
  now?: Date;
  home?: string;
  /** Answers the terminal gives to successive prompts; a missing answer is "no terminal". */
  answers?: string[];
  stdoutIsTerminal?: boolean;
}

/** Builds a runtime for tests. */
export function testRuntime(options: TestRuntimeOptions = {}): TestRuntime {
  let now = options.now ?? new Date("2026-01-02T03:04:05Z");
  const answers = [...(options.answers ?? [])];
  const rt: TestRuntime = {
    env: envFromObject(options.env ?? {}),
    now: () => new Date(now),
    setNow: (d) => now = d,
    homeDir: () => options.home ?? "/nonexistent-home",
    out: [],
    err: [],
    prompts: [],
    stdout: (t) => rt.out.push(t),
    stderr: (t) => rt.err.push(t),
    stdoutIsTerminal: () => options.stdoutIsTerminal ?? false,
    stdinIsTerminal: () => false,
    terminal: {
      readLine: (prompt) => {
        rt.prompts.push(prompt);
        const a = answers.shift();
        if (a === undefined) return Promise.reject(new UserError("no terminal in this test"));
        return Promise.resolve(a);
      },
    },
    os: "linux",
  };
  return rt;
}
