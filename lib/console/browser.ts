/**
 * Opening the login link in a browser: the system opener (`open`, `xdg-open`, Windows'
 * URL handler) or a `--browser` command template, e.g.
 * `chromium --profile-directory=Work {url}` or
 * `firefox 'ext+container:name=Work&url={urlencoded}'`.
 *
 * The program is never given the sign-in link itself, which is a credential for 15 minutes and
 * would sit in the browser's argv (readable by every local user) for as long as it runs: it gets
 * a one-use loopback address that redirects to the link once, then stops answering.
 */
import { UsageError } from "../errors.ts";
import { lookPath } from "../process/path_lookup.ts";

/** What opening needs from the machine (passed in, so tests use stand-ins). */
export interface BrowserDeps {
  os: typeof Deno.build.os;
  /** The PATH to look programs up on. */
  path: string | undefined;
  /** The environment of the browser program (already without our secrets). */
  env: Record<string, string>;
}

/** The program and arguments to run, or why there is none. */
export type BrowserCommand = { argv: string[] } | { missing: string };

/**
 * Splits a template into words (whitespace separated; `'...'`, `"..."` and `\` quote as in a
 * shell, nothing else is special: no variables, no globbing, no shell is run) and puts the URL
 * in: `{url}` as it is, `{urlencoded}` percent-encoded; appended as the last word when the
 * template has neither.
 */
export function expandBrowserTemplate(template: string, url: string): string[] {
  const words = splitWords(template);
  if (words.length === 0) throw new UsageError("--browser is empty");
  let used = false;
  const out = words.map((w) =>
    w.replace(/\{(url|urlencoded)\}/g, (_m, kind: string) => {
      used = true;
      return kind === "url" ? url : encodeURIComponent(url);
    })
  );
  if (!used) out.push(url);
  return out;
}

function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`--browser has an unclosed ${quote}`);
  if (inWord) words.push(word);
  return words;
}

/** The command that opens `url`: the template's, else the system opener found on PATH. */
export async function browserCommand(
  url: string,
  template: string | undefined,
  deps: BrowserDeps,
): Promise<BrowserCommand> {
  let argv: string[];
  if (template !== undefined && template.trim() !== "") {
    argv = expandBrowserTemplate(template, url);
  } else if (deps.os === "darwin") {
    argv = ["open", url];
  } else if (deps.os === "windows") {
    // Not `cmd /c start`: cmd.exe would split the link at its `&`s.
    argv = ["rundll32", "url.dll,FileProtocolHandler", url];
  } else {
    argv = ["xdg-open", url];
  }
  const program = deps.os === "windows" ? argv[0] : await lookPath(argv[0], deps.path);
  if (!program) {
    return {
      missing: template
        ? `the --browser program ${argv[0]} was not found on PATH`
        : `${argv[0]} (which opens links in your browser) was not found on PATH`,
    };
  }
  return { argv: [program, ...argv.slice(1)] };
}

/** How the opening went. */
export type OpenResult =
  | { opened: true }
  | { opened: false; why: string };

/** Options of openInBrowser. */
export interface OpenOptions {
  template?: string;
  /** How long to wait for the browser to follow the one-use address. */
  timeoutMs?: number;
}

/**
 * Opens `url` through a one-use loopback redirect. Resolves once the browser has followed it,
 * or with the reason it could not (no opener, the opener failed, nothing came in time).
 */
export async function openInBrowser(
  url: string,
  deps: BrowserDeps,
  options: OpenOptions = {},
): Promise<OpenResult> {
  const nonce = randomHex(16);
  let followed!: () => void;
  const fetched = new Promise<void>((resolve) => followed = resolve);
  let served = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" || path !== `/${nonce}` || served) {
      return new Response("not found\n", { status: 404 });
    }
    served = true;
    followed();
    return new Response(null, {
      status: 302,
      headers: {
        location: url,
        "cache-control": "no-store",
        "referrer-policy": "no-referrer",
      },
    });
  });
  const local = `http://127.0.0.1:${server.addr.port}/${nonce}`;
  try {
    const cmd = await browserCommand(local, options.template, deps);
    if ("missing" in cmd) return { opened: false, why: cmd.missing };
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd.argv[0], {
        args: cmd.argv.slice(1),
        env: deps.env,
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (err) {
      return { opened: false, why: `${cmd.argv[0]} could not be started (${(err as Error).name})` };
    }
    const exited = child.status.then((s) => s);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), options.timeoutMs ?? 120_000);
    });
    try {
      // An opener may return at once (xdg-open) or run for as long as the browser does.
      const first = await Promise.race([fetched.then(() => "fetched" as const), exited, timeout]);
      if (first === "fetched") return { opened: true };
      if (first !== "timeout" && !first.success) {
        return { opened: false, why: `${cmd.argv[0]} exited with status ${first.code}` };
      }
      const second = first === "timeout"
        ? first
        : await Promise.race([fetched.then(() => "fetched" as const), timeout]);
      if (second === "fetched") return { opened: true };
      return { opened: false, why: `no browser followed the link that ${cmd.argv[0]} was given` };
    } finally {
      clearTimeout(timer);
      child.unref();
    }
  } finally {
    await server.shutdown();
  }
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}
