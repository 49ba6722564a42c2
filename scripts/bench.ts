/**
 * `deno task bench`: startup time of the commands people run dozens of times a day, as the
 * median of N runs, and the ratio to `deno run` of an empty script in the project folder
 * measured in the same run (goals: `goalOf`; design.md); with /usr/bin/time, each run's CPU time
 * too (a busy machine inflates it less than wall time). A cache-hit `export` is also compared with the AWS CLI v2 handing out
 * credentials (`aws configure export-credentials`; goal: 10x faster). Both `deno run main.ts`
 * and the bundled single file (scripts/bundle.ts) are measured. Runs are interleaved (one run of
 * every case per round) so a busy machine slows all cases alike. Prints only; never a test.
 *
 * Usage: deno task bench [--runs 30] [--scale-only]
 * (`--scale-only`: the baseline and the scale row, without the other rows, the AWS CLI and the
 * soak.)
 */
import { bundle } from "./bundle.ts";
import {
  SCALE_COMMANDS,
  SCALE_SIZES,
  type ScaleFixture,
  untilFixturesQuiet,
  writeScaleFixture,
} from "./bench_scale.ts";

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const WARMUP_RUNS = 3;
const AWS_CLI_V2 = "/usr/bin/aws";
const PROFILE = "p";
const PASSPHRASE = "bench-passphrase";

/** One command line to time. */
interface BenchCase {
  name: string;
  cmd: string;
  args: string[];
  /** Goal printed next to the ratio. */
  goal: string;
  /** Environment of this case, when not the common one. */
  env?: Record<string, string>;
  /** Set after the runs. */
  times: number[];
  /** CPU time (user + system) of each run, when /usr/bin/time can tell. */
  cpu?: number[];
}

/** GNU time: reports a child's CPU time, which a busy machine inflates less than wall time. */
const TIME = "/usr/bin/time";

/** Times each case `runs` times after a warm-up, interleaved, into its `times`. */
async function measure(
  cases: BenchCase[],
  env: Record<string, string>,
  runs: number,
): Promise<void> {
  const haveTime = await Deno.stat(TIME).then(() => true, () => false);
  const cpuFile = await Deno.makeTempFile({ prefix: "aws-vault-bench-cpu-" });
  for (let round = 0; round < WARMUP_RUNS + runs; round++) {
    for (const c of cases) {
      const [cmd, args] = haveTime
        ? [TIME, ["-f", "%U %S", "-o", cpuFile, c.cmd, ...c.args]]
        : [c.cmd, c.args];
      const start = performance.now();
      const out = await new Deno.Command(cmd, {
        args,
        env: c.env ?? env,
        clearEnv: true,
        cwd: ROOT,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      const elapsed = performance.now() - start;
      if (!out.success) throw new Error(`${c.name} failed with exit code ${out.code}`);
      if (round < WARMUP_RUNS) continue;
      c.times.push(elapsed);
      if (haveTime) {
        const [user, system] = (await Deno.readTextFile(cpuFile)).trim().split(/\s+/).slice(-2);
        (c.cpu ??= []).push((Number(user) + Number(system)) * 1000);
      }
    }
  }
  await Deno.remove(cpuFile);
}

/** The start-up budget (design.md): the bundle 1.2x (help, list) or 1.3x, main.ts 1.5x. */
function goalOf(program: string, command: string): number {
  if (program !== "bundle") return 1.5;
  return command === "--help" || command.startsWith("list") ? 1.2 : 1.3;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Writes a file vault with long-term keys and a cached session for PROFILE. */
async function writeCachedSession(fileDir: string): Promise<void> {
  const { FileKeyring } = await import("../backends/file.ts");
  const { CredentialStore, SessionStore } = await import("../lib/store/mod.ts");
  const keyring = new FileKeyring(fileDir, {
    passphrase: PASSPHRASE,
    terminal: { readLine: () => Promise.reject(new Error("no terminal in the benchmark")) },
  });
  await new CredentialStore(keyring).set(PROFILE, {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  });
  await new SessionStore(keyring, () => new Date()).set(
    { type: "sts.GetSessionToken", profileName: PROFILE, mfaSerial: "" },
    {
      accessKeyId: "ASIAIOSFODNN7EXAMPLE",
      secretAccessKey: "session/secret/EXAMPLEKEY",
      sessionToken: "session-token-EXAMPLE",
      expiration: new Date(Date.now() + 8 * 3600_000),
    },
  );
}

/** Runs one command once; undefined when it works, else the first line of its error. */
async function tryOnce(cmd: string, args: string[], env: Record<string, string>) {
  try {
    const out = await new Deno.Command(cmd, { args, env, clearEnv: true, cwd: ROOT, stdin: "null" })
      .output();
    if (out.success) return undefined;
    return `exit ${out.code}: ${new TextDecoder().decode(out.stderr).trim().split("\n")[0]}`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

async function main(): Promise<void> {
  const runsFlag = Deno.args.indexOf("--runs");
  const runs = runsFlag >= 0 ? Number(Deno.args[runsFlag + 1]) : 30;
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs needs a positive integer");
  const scaleOnly = Deno.args.includes("--scale-only");
  const deno = Deno.execPath();
  const tmp = await Deno.makeTempDir({ prefix: "aws-vault-bench-" });
  try {
    // Outside the project: Deno reads no deno.json or deno.lock for it (shown, not a baseline).
    const emptyOutside = `${tmp}/empty.ts`;
    await Deno.writeTextFile(emptyOutside, "");
    await Deno.writeTextFile(
      `${tmp}/config`,
      `[default]\nregion = us-east-1\n\n[profile ${PROFILE}]\nregion = eu-west-1\n\n` +
        `[profile other]\nsource_profile = ${PROFILE}\n`,
    );
    // Static keys for the AWS CLI comparison (it reads keys from its config file).
    await Deno.writeTextFile(
      `${tmp}/cli_config`,
      `[profile ${PROFILE}]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n` +
        `aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n`,
    );
    const env: Record<string, string> = {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: tmp,
      // HOME is the temp dir: keep Deno's cache (and its V8 code cache) where it is.
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      NO_COLOR: "1",
      AWS_CONFIG_FILE: `${tmp}/config`,
      AWS_SHARED_CREDENTIALS_FILE: `${tmp}/credentials`,
      AWS_VAULT_BACKEND: "file",
      AWS_VAULT_FILE_DIR: `${tmp}/keys`,
      AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE,
    };

    const programs: { label: string; args: string[] }[] = [
      { label: "main.ts", args: ["run", "-A", "--quiet", "main.ts"] },
    ];
    try {
      const file = await bundle({ output: `${tmp}/aws-vault.js` });
      programs.push({ label: "bundle", args: ["run", "-A", "--quiet", file] });
    } catch (err) {
      console.log(`skip bundle cases: ${err instanceof Error ? err.message : err}`);
    }

    const commands: { name: string; args: string[] }[] = [
      { name: "--help", args: ["--help"] },
      { name: "list --profiles", args: ["list", "--profiles"] },
      { name: "export --format=json p", args: ["export", "--format=json", PROFILE] },
      { name: "exec p -- true", args: ["exec", PROFILE, "--", "true"] },
    ];
    try {
      await writeCachedSession(env.AWS_VAULT_FILE_DIR);
      // The vault and config must be left alone a moment before a run records its decision
      // (lib/replay), as a user's are: then the first run of each case records it, untimed.
      await untilFixturesQuiet();
    } catch (err) {
      console.log(`no cached session: ${err instanceof Error ? err.message : err}`);
    }

    // The goals' baseline (design.md): an empty script in the project folder, for which Deno
    // reads the project's deno.json and deno.lock (the lock's npm snapshot: ~1.5 ms here), as it
    // does for main.ts. The bundle runs from the temp directory, as from a user's ~/bin.
    const baseline: BenchCase = {
      name: "deno run (empty script)",
      cmd: deno,
      args: ["run", "--quiet", "scripts/bench_empty.ts"],
      goal: "",
      times: [],
    };
    const outside: BenchCase = {
      name: "deno run (empty script, outside the project)",
      cmd: deno,
      args: ["run", "--quiet", emptyOutside],
      goal: "",
      times: [],
    };
    const cases: BenchCase[] = [baseline, outside];
    for (const program of scaleOnly ? [] : programs) {
      for (const c of commands) {
        const why = await tryOnce(deno, [...program.args, ...c.args], env);
        if (why) {
          console.log(`skip ${program.label} ${c.name}: ${why}`);
          continue;
        }
        cases.push({
          name: `${program.label} ${c.name}`,
          cmd: deno,
          args: [...program.args, ...c.args],
          goal: `goal <= ${goalOf(program.label, c.name)}x`,
          times: [],
        });
      }
    }
    // The same cache-hit export through a credential agent: no passphrase, no key derivation.
    const agentEnv = { ...env, AWS_VAULT_AGENT_SOCK: `${tmp}/agent/agent.sock` };
    delete (agentEnv as Record<string, string | undefined>).AWS_VAULT_FILE_PASSPHRASE;
    const agentStart = scaleOnly
      ? "--scale-only"
      : await tryOnce(deno, [...programs[0].args, "agent", "start"], {
        ...agentEnv,
        AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE,
      });
    if (agentStart) console.log(`skip agent cases: ${agentStart}`);
    const exportArgs = ["export", "--format=json", PROFILE];
    for (const program of agentStart || scaleOnly ? [] : programs) {
      const why = await tryOnce(deno, [...program.args, ...exportArgs], agentEnv);
      if (why) console.log(`skip ${program.label} agent export: ${why}`);
      else {
        cases.push({
          name: `${program.label} export --format=json p (agent)`,
          cmd: deno,
          args: [...program.args, ...exportArgs],
          goal: "compare with the row without the agent",
          env: agentEnv,
          times: [],
        });
      }
    }
    const scale = await scaleCases(tmp, env, programs, deno);
    cases.push(...scale.flat());
    let awsCli: BenchCase | undefined;
    const cliArgs = ["configure", "export-credentials", "--profile", PROFILE];
    const cliEnv = { ...env, AWS_CONFIG_FILE: `${tmp}/cli_config` };
    const cliProblem = scaleOnly ? "--scale-only" : await tryOnce(AWS_CLI_V2, cliArgs, cliEnv);
    if (cliProblem) {
      console.log(`skip AWS CLI v2 comparison (${AWS_CLI_V2}): ${cliProblem}`);
    } else {
      // Timed separately: it needs its own config file with static keys.
      awsCli = {
        name: "aws configure export-credentials",
        cmd: AWS_CLI_V2,
        args: cliArgs,
        goal: "",
        times: [],
      };
    }

    console.log(
      `deno ${Deno.version.deno}, ${runs} runs per case after ${WARMUP_RUNS} warm-up runs`,
    );
    await measure(cases, env, runs);
    if (awsCli) await measure([awsCli], cliEnv, Math.min(runs, 10));

    const base = median(baseline.times);
    const baseCpu = baseline.cpu ? median(baseline.cpu) : undefined;
    const width = Math.max(...cases.map((c) => c.name.length), awsCli?.name.length ?? 0);
    const cpuText = (c: BenchCase) =>
      c.cpu && baseCpu
        ? `  cpu ${median(c.cpu).toFixed(0).padStart(5)} ms ${
          (median(c.cpu) / baseCpu).toFixed(2)
        }x`
        : "";
    const row = (c: BenchCase, ratio: string) =>
      console.log(
        `${c.name.padEnd(width)}  ${median(c.times).toFixed(1).padStart(7)} ms  ${ratio}${
          cpuText(c)
        }`,
      );
    for (const c of cases) {
      row(
        c,
        c === baseline
          ? "1.00x (baseline)".padEnd(20)
          : `${(median(c.times) / base).toFixed(2)}x  ${c.goal}`.padEnd(20),
      );
    }
    printScaleRow(scale);
    if (awsCli) {
      row(awsCli, `${(median(awsCli.times) / base).toFixed(2)}x`);
      for (const c of cases.filter((c) => c.name.includes(" export --format=json p"))) {
        const speedup = median(awsCli.times) / median(c.times);
        console.log(`${c.name}: ${speedup.toFixed(1)}x faster than the AWS CLI v2 (goal >= 10x)`);
      }
    }
    if (scaleOnly) return;
    const { runSoak, soakLine } = await import("../tests/support/soak.ts");
    console.log(`credential servers soak (ECS + EC2 IMDSv2): ${soakLine(await runSoak())}`);
  } finally {
    await tryOnce(deno, ["run", "-A", "--quiet", "main.ts", "agent", "stop"], {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: tmp,
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      AWS_VAULT_AGENT_SOCK: `${tmp}/agent/agent.sock`,
    });
    await Deno.remove(tmp, { recursive: true });
  }
}

/**
 * The scale row's cases: each program and command over every fixture size, in pairs (small,
 * large) so their difference is read within one run.
 */
async function scaleCases(
  tmp: string,
  env: Record<string, string>,
  programs: { label: string; args: string[] }[],
  deno: string,
): Promise<BenchCase[][]> {
  const fixtures: ScaleFixture[] = [];
  for (const [i, size] of SCALE_SIZES.entries()) {
    fixtures.push(await writeScaleFixture(`${tmp}/scale${i}`, size, PASSPHRASE));
  }
  await untilFixturesQuiet();
  const pairs: BenchCase[][] = [];
  for (const program of programs) {
    for (const c of SCALE_COMMANDS) {
      const pair: BenchCase[] = [];
      for (const fixture of fixtures) {
        const caseEnv = { ...env, ...fixture.env };
        const why = await tryOnce(deno, [...program.args, ...c.args], caseEnv);
        if (why) {
          console.log(`skip ${program.label} ${c.name} (${fixture.size.label}): ${why}`);
          continue;
        }
        pair.push({
          name: `${program.label} ${c.name} (${fixture.size.label})`,
          cmd: deno,
          args: [...program.args, ...c.args],
          goal: "",
          times: [],
          env: caseEnv,
        });
      }
      if (pair.length === fixtures.length) pairs.push(pair);
    }
  }
  return pairs;
}

/** The scale row: how much the large case adds to the small one (goal for export: <= 5 ms). */
function printScaleRow(pairs: BenchCase[][]): void {
  if (pairs.length === 0) return;
  console.log("scale (large - small, medians of the same run):");
  for (const [small, large] of pairs) {
    const delta = median(large.times) - median(small.times);
    const goal = small.name.includes(" export ") ? "  goal <= 5 ms" : "";
    console.log(`  ${large.name}: ${delta >= 0 ? "+" : ""}${delta.toFixed(1)} ms${goal}`);
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error(`bench: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
