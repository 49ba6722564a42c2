// The start of the single-file aws-vault (scripts/bundle.ts puts the program after it, on the
// line before the last). V8 parses the whole file at every start, and parsing is what a big
// bundle costs, so the program is not code here: its modules (code-split, minified) and the AWS
// SDK are one brotli + base64 archive inside a line comment, which the parser only skips.
// The first run unpacks them into a per-user cache directory named by the archive's SHA-256;
// every run imports the program from there, so only the modules a command needs are parsed,
// each from a file that Deno's code cache knows. Only `--help` (and `help`) is answered here,
// from the root help built in, before anything is unpacked or imported.
const PROGRAM_ID = "@@PROGRAM_ID@@";
// `aws-vault --help` (and `help`): the program's own root help, made from the command table
// when the file was built (it depends on nothing else), so printing it loads no module.
const ROOT_HELP = "@@ROOT_HELP@@";
const PROGRAM_ENTRY = "@@PROGRAM_ENTRY@@";
const ARCHIVE_MARK = "//@@ARCHIVE_MARK@@";
// The file's last line, after the archive's: a file without it was cut short.
const ARCHIVE_END = "//@@ARCHIVE_END@@";
// Unpack directories older than this belong to a version nobody ran for a month.
const STALE_PROGRAM_MS = 30 * 24 * 3600_000;
// An unpack directory not renamed into place after this was left by a killed process.
const STALE_UNPACK_MS = 3600_000;

/** Where the program is unpacked, most preferred first (each is tried until one is usable). */
function unpackBases() {
  const uid = Deno.uid();
  const bases = [];
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME");
  if (xdg && xdg.startsWith("/")) bases.push(`${xdg}/aws-vault`);
  else if (home && home.startsWith("/")) bases.push(`${home}/.cache/aws-vault`);
  const tmp = Deno.env.get("TMPDIR");
  bases.push(`${tmp && tmp.startsWith("/") ? tmp : "/tmp"}/aws-vault-${uid ?? "user"}`);
  return bases;
}

/**
 * Whether path is a real directory of ours that nobody else can write into: code is imported
 * from it. A missing path is false; anything else wrong throws.
 */
function trustedDir(path) {
  let info;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  const uid = Deno.uid();
  if (!info.isDirectory) throw new Error(`${path} is not a directory`);
  if (uid !== null && info.uid !== uid) throw new Error(`${path} belongs to another user`);
  if (info.mode !== null && (info.mode & 0o022) !== 0) {
    throw new Error(`${path} is writable by others`);
  }
  return true;
}

/** This file's text, read again: from disk, or from where it was served (`deno run https://...`). */
async function ownText() {
  const url = new URL(import.meta.url);
  if (url.protocol === "file:") return await Deno.readTextFile(url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`reading ${url.href} again: HTTP ${response.status}`);
  return await response.text();
}

/** The archive in this file: `{ name: text }` of every module, checked against PROGRAM_ID. */
async function readArchive() {
  const self = await ownText();
  const at = self.lastIndexOf(`\n${ARCHIVE_MARK}`);
  const end = at < 0 ? -1 : self.indexOf("\n", at + 1);
  if (end < 0 || self.slice(end + 1).trim() !== ARCHIVE_END) {
    throw new Error("this file has no whole program archive (cut short?)");
  }
  const base64 = self.slice(at + ARCHIVE_MARK.length + 1, end).trim();
  const packed = Uint8Array.fromBase64(base64);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", packed));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  if (!hex.startsWith(PROGRAM_ID)) {
    throw new Error(
      "the archive does not match this file (damaged, or changed since Deno cached it)",
    );
  }
  const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("brotli"));
  return JSON.parse(await new Response(stream).text());
}

/** Removes what killed runs and old versions left under base (best effort). */
async function sweep(base, keep) {
  try {
    for await (const entry of Deno.readDir(base)) {
      const unpacking = entry.name.startsWith(".unpack-");
      if (!unpacking && !entry.name.startsWith("program-")) continue;
      if (entry.name === keep) continue;
      const path = `${base}/${entry.name}`;
      const info = await Deno.lstat(path);
      const age = Date.now() - (info.mtime?.getTime() ?? Date.now());
      if (age > (unpacking ? STALE_UNPACK_MS : STALE_PROGRAM_MS)) {
        await Deno.remove(path, { recursive: true });
      }
    }
  } catch {
    // Leftovers cost only disk space.
  }
}

/** Unpacks the archive into base/name atomically (a directory renamed into place). */
async function unpack(base, name) {
  await Deno.mkdir(base, { recursive: true, mode: 0o700 });
  trustedDir(base);
  const files = await readArchive();
  const work = await Deno.makeTempDir({ dir: base, prefix: ".unpack-" });
  try {
    for (const [file, text] of Object.entries(files)) {
      if (!/^[A-Za-z0-9_.-]+\.js$/.test(file)) throw new Error(`bad module name ${file}`);
      const handle = await Deno.open(`${work}/${file}`, {
        write: true,
        createNew: true,
        mode: 0o600,
      });
      try {
        const bytes = new TextEncoder().encode(text);
        for (let done = 0; done < bytes.length;) done += await handle.write(bytes.subarray(done));
        await handle.sync();
      } finally {
        handle.close();
      }
    }
    await Deno.chmod(work, 0o700);
    try {
      await Deno.rename(work, `${base}/${name}`);
    } catch (err) {
      // Another run unpacked the same program first: use theirs.
      if (!trustedDir(`${base}/${name}`)) throw err;
      await Deno.remove(work, { recursive: true });
    }
  } catch (err) {
    await Deno.remove(work, { recursive: true }).catch(() => {});
    throw err;
  }
  await sweep(base, name);
  return `${base}/${name}`;
}

/** The directory holding this program's modules, unpacked on first use. */
async function programDir() {
  const name = `program-${PROGRAM_ID}`;
  const problems = [];
  for (const base of unpackBases()) {
    try {
      if (trustedDir(`${base}/${name}`)) return `${base}/${name}`;
      return await unpack(base, name);
    } catch (err) {
      problems.push(`${base}: ${err instanceof Error ? err.message : err}`);
    }
  }
  throw new Error(`cannot unpack the program (${problems.join("; ")})`);
}

if (Deno.args.length === 1 && (Deno.args[0] === "--help" || Deno.args[0] === "help")) {
  try {
    let data = new TextEncoder().encode(ROOT_HELP);
    while (data.length > 0) data = data.subarray(Deno.stdout.writeSync(data));
  } catch (err) {
    console.error(`aws-vault: error: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
  Deno.exit(0);
}

let programUrl;
try {
  const dir = await programDir();
  programUrl = `file://${dir.split("/").map(encodeURIComponent).join("/")}/${PROGRAM_ENTRY}`;
} catch (err) {
  console.error(`aws-vault: error: ${err instanceof Error ? err.message : err}`);
  Deno.exit(1);
}
const program = await import(programUrl);
Deno.exit(await program.main(Deno.args));
