/**
 * Generated hostile inputs for the fault and attack tests: names and values drawn from the
 * classes that break vaults (shell metacharacters, control characters, unicode, path parts,
 * names shaped like internal files or session keys, very long names), with a seeded generator
 * so a failure can be replayed from the seed it prints.
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: `HOSTILE_SEED` to replay one, else random. */
export function runSeed(): number {
  const given = Deno.env.get("HOSTILE_SEED");
  return given ? Number(given) : Math.floor(Math.random() * 2 ** 31);
}

const SHELL = [
  "'",
  '"',
  "`",
  "$",
  "$(",
  "\\",
  ";",
  "&",
  "|",
  "<",
  ">",
  "(",
  ")",
  "{",
  "}",
  "*",
  "?",
  "!",
  "#",
  "~",
  "%",
  "^",
  "[",
  "]",
  " ",
  "\t",
];
const CONTROL = ["\n", "\r", "\x00", "\x1b", "\x7f", "\x08", "\u2028", "\u0085"];
const UNICODE = ["é", "日本", "𝔘", "\u202e", "\ufeff", "\u200b", "Ω", "ß", "\ud83d\ude00", "İ"];
const PATHS = ["..", ".", "/", "../", "%2F", "%25", "%", "%zz", "//"];
const SHAPES = [
  ".aws-vault-tmp-",
  "%aws-vault-tmp-0123456789abcdef",
  "%aws-vault-long-",
  "%aws-vault-new-vault.lock",
  "sts.GetSessionToken,cHJvZA,,1",
  "team,Zm9v,,1",
  "session,YQ,,1",
  "session:a:b:1",
  "x session (1)",
  "oidc:https://x/start",
  "mfa-codes-used.json",
  "session.sts.AssumeRole.cA.bQ.lock",
];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)];
}

/** One hostile string: a mix of pieces of the classes above, sometimes very long. */
export function hostileString(rand: () => number): string {
  const classes = [SHELL, CONTROL, UNICODE, PATHS, SHAPES, ["a", "b", "-", "_", "0", "Z"]];
  const parts: string[] = [];
  const n = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) parts.push(pick(rand, pick(rand, classes)));
  let s = parts.join("");
  if (rand() < 0.15) s = s.repeat(1 + Math.floor(rand() * 120)); // long: past NAME_MAX at times
  return s;
}

/** `count` hostile strings, plus each internal-name shape as it is. */
export function hostileStrings(rand: () => number, count: number): string[] {
  const out = new Set<string>(SHAPES);
  while (out.size < SHAPES.length + count) out.add(hostileString(rand));
  return [...out];
}
