/**
 * A 1Password account for one test: the recording `op` stand-in (op_stand_in.py) installed as
 * `<dir>/bin/op`, a vault, and readers of what each run of it received.
 */
import { python3 } from "./peers.ts";

const SCRIPT = new URL("./op_stand_in.py", import.meta.url).pathname;

/** The vault every fixture has. */
export const OP_VAULT_ID = "w7qk3xyzvaultid000000000aa";
/** The service-account token the fixture's account accepts. */
export const OP_TOKEN = "ops_eyJTESTTOKEN-do-not-leak-0123456789";

/** One recorded run of `op`. */
export interface OpCall {
  argv: string[];
  stdin: string;
  /** OP_SERVICE_ACCOUNT_TOKEN in that run's environment. */
  token: string | null;
  /** Names of OP_CONNECT_*, AWS_VAULT_OP_* and AWS_VAULT_FILE_PASSPHRASE variables that reached it. */
  others: string[];
}

/** A fixture account. */
export interface OpAccount {
  dir: string;
  /** Absolute path of the `op` stand-in. */
  op: string;
  /** Its bin directory, to put first on PATH. */
  bin: string;
  /** What the stand-in needs in its environment (state dir, log). */
  env: Record<string, string>;
  /** Every run so far. */
  calls(): Promise<OpCall[]>;
  /** The stored items of the vault (as the stand-in keeps them). */
  items(): Promise<Array<Record<string, unknown>>>;
  /** Puts an item into the vault as a user (or another program) would. */
  addItem(item: Record<string, unknown>): Promise<void>;
  /** Signs in as a user (the desktop app); without it only the token authenticates. */
  signIn(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Makes a fresh account with one empty vault named "Private". */
export async function makeOpAccount(): Promise<OpAccount> {
  const dir = await Deno.makeTempDir({ prefix: "awsvault-op-" });
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin);
  const items = `${dir}/state/vaults/${OP_VAULT_ID}/items`;
  await Deno.mkdir(items, { recursive: true });
  await Deno.writeTextFile(`${dir}/state/vaults/${OP_VAULT_ID}/name`, "Private\n");
  await Deno.writeTextFile(`${dir}/state/token`, OP_TOKEN);
  // The interpreter's absolute path (no version-manager shim per run), no site packages.
  const source = await Deno.readTextFile(SCRIPT);
  const op = `${bin}/op`;
  await Deno.writeTextFile(op, source.replace(/^#!.*\n/, `#!${await python3()} -S\n`), {
    mode: 0o755,
  });
  const log = `${dir}/calls.jsonl`;
  return {
    dir,
    op,
    bin,
    env: { OP_STAND_IN_DIR: `${dir}/state`, OP_STAND_IN_LOG: log },
    calls: async () => {
      const text = await Deno.readTextFile(log).catch(() => "");
      return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
    },
    items: async () => {
      const out = [];
      for await (const e of Deno.readDir(items)) {
        if (e.name.endsWith(".json")) {
          out.push(JSON.parse(await Deno.readTextFile(`${items}/${e.name}`)));
        }
      }
      return out;
    },
    addItem: (item) => Deno.writeTextFile(`${items}/${item.id}.json`, JSON.stringify(item)),
    signIn: () => Deno.writeTextFile(`${dir}/state/signed_in`, ""),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
