/** Names shared by the recording and the replaying side of lib/replay. */

/** Pseudo-variables for what the runtime says of the terminal, recorded like variables. */
export const STDIN_TTY = "#stdin-is-terminal";
export const STDOUT_TTY = "#stdout-is-terminal";
/** The home directory the runtime reports (HOME, or USERPROFILE on Windows). */
export const HOME_DIR = "#home-directory";
