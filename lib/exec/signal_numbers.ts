/** Signal numbers: the tables Deno does not expose (exit codes 128+n, posix_spawn's sets). */

/** Signal numbers by name: Linux, and where macOS/BSD differ. */
const LINUX_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};
/** Linux's names that macOS and the BSDs do not have (their numbers mean other signals there). */
const LINUX_ONLY = new Set(["SIGSTKFLT", "SIGPOLL", "SIGPWR"]);
const BSD_NUMBERS: Record<string, number> = {
  ...Object.fromEntries(Object.entries(LINUX_NUMBERS).filter(([name]) => !LINUX_ONLY.has(name))),
  SIGEMT: 7,
  SIGBUS: 10,
  SIGUSR1: 30,
  SIGSEGV: 11,
  SIGSYS: 12,
  SIGUSR2: 31,
  SIGURG: 16,
  SIGSTOP: 17,
  SIGTSTP: 18,
  SIGCONT: 19,
  SIGCHLD: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGIO: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGINFO: 29,
};

/** The number of a signal on this OS (undefined for a name we do not know). */
export function signalNumber(
  name: string,
  os: typeof Deno.build.os = Deno.build.os,
): number | undefined {
  const table = os === "darwin" || os === "freebsd" || os === "netbsd"
    ? BSD_NUMBERS
    : LINUX_NUMBERS;
  return table[name];
}

/** The name of a signal number on this OS (undefined for one we do not know). */
export function signalName(
  n: number,
  os: typeof Deno.build.os = Deno.build.os,
): Deno.Signal | undefined {
  const table = os === "darwin" || os === "freebsd" || os === "netbsd"
    ? BSD_NUMBERS
    : LINUX_NUMBERS;
  return Object.entries(table).find(([, v]) => v === n)?.[0] as Deno.Signal | undefined;
}
