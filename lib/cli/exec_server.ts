/**
 * `exec --ecs-server` / `--ec2-server`: runs the command as a child while a local credential
 * server hands it fresh credentials, then stops the server, cleans up and passes the child's
 * exit code through (reference 3.6 to 3.8; we refresh ahead instead of on demand).
 */
import { UsageError, UserError } from "../errors.ts";
import { escapeControl } from "../encoding.ts";
import { childEnvironment } from "../exec/credential_env.ts";
import { runProgram, withoutPrivateVariables } from "../process/mod.ts";

import { runChild } from "../exec/run_child.ts";
import type { StsClientFactory } from "../aws/sts_client.ts";
import { type ProfileConfig, resolveProfile } from "../config/mod.ts";
import { SERVER_URL_VARIABLE } from "../server/client.ts";
import { EC2_METADATA_ADDR, parseListenAddr, startEc2Server } from "../server/ec2_server.ts";
import { PROXY_TARGET, stopProxy } from "../server/ec2_proxy.ts";
import { startEcsServer } from "../server/ecs_server.ts";
import { isLoopback } from "../server/guard.ts";
import { selfCommand, writeServedConfig } from "../server/profiles_config.ts";
import { RefreshingCredentials } from "../server/refreshing_credentials.ts";
import { defaultRoleSessionName } from "../vault/assume_role.ts";
import type { CredentialProvider, Credentials } from "../credentials.ts";
import { providerForProfile } from "../vault/for_profile.ts";
import { ROLE_CHAINING_LIMIT_MS } from "../vault/chain.ts";
import { type ExecOptions, helpMessage } from "./exec.ts";
import type { CommandContext } from "./global.ts";

/** Role ARNs one ECS server assumes at most (each keeps its own refreshing credentials). */
const MAX_ROLE_ARNS = 32;
const ROLE_ARN = /^arn:aws[a-z-]{0,20}:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;

const INHERITED_CONTAINER_VARIABLES = [
  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
  "AWS_CONTAINER_CREDENTIALS_FULL_URI",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/** Refuses the combinations aws-vault refuses, one line each. */
export function checkServerFlags(opts: ExecOptions): void {
  const ecs = opts.server || opts.ecsServer;
  if (ecs && opts.ec2Server) throw new UsageError("--ec2-server cannot be used with --ecs-server");
  const which = opts.ec2Server ? "--ec2-server" : "--ecs-server";
  if (opts.json) throw new UsageError(`${which} cannot be used with --json`);
  if (opts.noSession) {
    throw new UsageError(`${which} cannot be used with --no-session`);
  }
  if (opts.profileEnv) throw new UsageError(`${which} cannot be used with --profile-env`);
  if (opts.lazy && !ecs) throw new UsageError("--lazy needs --ecs-server");
  if (opts.allProfiles && !ecs) throw new UsageError("--all-profiles needs --ecs-server");
}

/** Runs `command args...` beside a credential server; returns the child's exit code. */
export async function execWithServer(
  ctx: CommandContext,
  profileName: string,
  command: string,
  args: string[],
  opts: ExecOptions,
  /** No command was given (a subshell): help messages go to stderr. */
  interactive = false,
): Promise<number> {
  checkServerFlags(opts);
  const { runtime } = ctx;
  const log = (line: string) => ctx.log.debug(line);
  const now = () => runtime.now();
  let childStarted = false;
  // The server's own services: prompts prefer a GUI driver, and the terminal is ours only until
  // the child starts. One keyring and one MFA ledger serve every refresh.
  const { buildServices } = await import("../vault/services.ts");
  const services = buildServices(runtime, {
    ...ctx.options,
    serverMode: true,
    terminalPromptAllowed: () => !childStarted,
  }, ctx.log);
  // One provider per profile, built on first use and asked again on every refresh.
  const providers = new Map<string, Promise<CredentialProvider>>();
  const fetchFor = async (name: string, minRemainingMs: number, base: boolean) => {
    let provider = providers.get(name);
    if (!provider) {
      provider = providerForProfile(services, {
        profileName: name,
        flags: base ? opts : {},
        minRemainingMs,
      }).then((p) => p.provider);
      // A profile that failed to resolve is tried afresh next time.
      provider.catch(() => providers.delete(name));
      providers.set(name, provider);
    }
    return await (await provider).retrieve();
  };

  const config = await services.config();
  const profile = resolveProfile(config, profileName, {
    env: runtime.env,
    flags: opts,
  });
  const base = new RefreshingCredentials({
    name: profileName,
    fetch: (min) => fetchFor(profileName, min, true),
    now,
    log,
  });
  const cleanups: (() => Promise<void> | void)[] = [() => base.close()];
  try {
    if (!opts.lazy) await base.prefetch();
    const env = childEnvironment(runtime.env.toObject(), {
      profileName,
      region: profile.region,
      endpointUrl: profile.endpointUrl,
    });
    // Inherited container settings (aws-vault run inside ECS) would win over our server in every
    // SDK (a relative URI beats a full one, and container credentials beat instance metadata).
    for (const name of INHERITED_CONTAINER_VARIABLES) delete env[name];
    if (opts.ec2Server) {
      await startEc2(ctx, profile, base, env, cleanups, interactive);
    } else {
      const profiles = new Map<string, RefreshingCredentials>([[profileName, base]]);
      const roles = new Map<string, RefreshingCredentials>();
      const server = startEcsServer({
        base,
        log,
        roleArn: (arn) => roleSource(arn, roles, base, profile, ctx, cleanups, services.sts),
        profile: opts.allProfiles
          ? (name) => profileSource(name, config.profileNames(), profiles, fetchFor, ctx, cleanups)
          : undefined,
      });
      cleanups.push(() => server.close());
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI = server.url;
      env.AWS_CONTAINER_AUTHORIZATION_TOKEN = server.token;
      if (opts.allProfiles) {
        const names = config.profileNames();
        const served = names.map((name) => ({
          name,
          region: name === profileName ? profile.region : config.profileSection(name)?.region,
        }));
        const file = await writeServedConfig(served, selfCommand());
        cleanups.push(() => Deno.remove(file.dir, { recursive: true }));
        for (const name of file.leftOut) {
          runtime.stderr(
            `aws-vault: --all-profiles leaves out profile ${
              escapeControl(JSON.stringify(name))
            }: a config file cannot hold its name as the SDKs read it back\n`,
          );
        }
        env.AWS_CONFIG_FILE = file.path;
        env[SERVER_URL_VARIABLE] = server.url;
      }
      log(`ECS credential server listening on ${server.url}`);
    }
    childStarted = true;
    return await runChild(command, args, {
      env,
      interactive: Deno.stdin.isTerminal(),
      report: (text) => runtime.stderr(`aws-vault: ${text}\n`),
    });
  } finally {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log(`cleanup: ${(err as Error).message}`);
      }
    }
  }
}

async function startEc2(
  ctx: CommandContext,
  profile: ProfileConfig,
  source: RefreshingCredentials,
  env: Record<string, string>,
  cleanups: (() => Promise<void> | void)[],
  interactive: boolean,
): Promise<void> {
  const { runtime } = ctx;
  const addrText = runtime.env.get("AWS_VAULT_EC2_SERVER_ADDR") || EC2_METADATA_ADDR;
  let listen: { hostname: string; port: number };
  try {
    listen = parseListenAddr(addrText);
  } catch (err) {
    throw new UserError(`AWS_VAULT_EC2_SERVER_ADDR: ${(err as Error).message}`);
  }
  const h = listen.hostname;
  if (!isLoopback(h) && h !== "localhost" && !/^169\.254\.\d{1,3}\.\d{1,3}$/.test(h)) {
    // Anything else could be reached from the network.
    throw new UserError(
      `AWS_VAULT_EC2_SERVER_ADDR: ${h} is neither a loopback nor a link-local (169.254.x.x) address`,
    );
  }
  if (listen.port !== 0 && await accepts(listen)) {
    throw new UserError(`Another process is already bound to ${addrText}`);
  }
  const common = {
    source,
    region: profile.region,
    now: () => runtime.now(),
    log: (line: string) => ctx.log.debug(line),
  };
  helpMessage(
    ctx,
    `Starting a local EC2 credential server on ${addrText}; AWS credentials will be accessible to any process while it is running`,
    interactive,
  );
  let server;
  try {
    server = await startEc2Server({ ...common, ...listen });
  } catch (err) {
    const privileged = err instanceof Deno.errors.AddrNotAvailable ||
      err instanceof Deno.errors.PermissionDenied;
    if (!privileged || addrText !== EC2_METADATA_ADDR) {
      throw new UserError(`cannot listen on ${addrText}: ${(err as Error).message}`);
    }
    server = await startThroughProxy(ctx, common, listen, cleanups);
  }
  cleanups.push(() => server.close());
  if (addrText !== EC2_METADATA_ADDR) {
    const h = server.addr.hostname.includes(":")
      ? `[${server.addr.hostname}]`
      : server.addr.hostname;
    env.AWS_EC2_METADATA_SERVICE_ENDPOINT = `http://${h}:${server.addr.port}/`;
  }
}

/**
 * The address is not ours yet: the metadata server runs on 127.0.0.1:9099 and `aws-vault proxy`
 * (through sudo, unless we are root) sets up the address and forwards to it.
 */
async function startThroughProxy(
  ctx: CommandContext,
  common: Omit<Parameters<typeof startEc2Server>[0], "hostname" | "port">,
  listen: { hostname: string; port: number },
  cleanups: (() => Promise<void> | void)[],
) {
  const { runtime } = ctx;
  let server;
  try {
    server = await startEc2Server({
      ...common,
      ...PROXY_TARGET,
      extraHosts: [listen.hostname, `${listen.hostname}:${listen.port}`],
    });
  } catch (err) {
    throw new UserError(
      `cannot listen on ${PROXY_TARGET.hostname}:${PROXY_TARGET.port}: ${(err as Error).message}`,
    );
  }
  const proxy = [...selfCommand(), "proxy"];
  if (runtime.os !== "windows" && Deno.uid() === 0) {
    // Root already: start the proxy ourselves, in the background.
    try {
      new Deno.Command(proxy[0], {
        args: proxy.slice(1),
        env: withoutPrivateVariables(runtime.env.toObject()),
        clearEnv: true,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn().unref();
    } catch (err) {
      await server.close();
      throw new UserError(`cannot start the proxy: ${(err as Error).message}`);
    }
  } else {
    runtime.stderr(
      "aws-vault: the EC2 metadata address needs root: starting 'sudo aws-vault proxy' (sudo may ask for your password)\n",
    );
    const sudo = await runProgram("sudo", ["-b", ...proxy], {
      env: runtime.env.toObject(),
      stdin: "inherit",
      stderr: "inherit",
    }).then((r) => ({ success: r.code === 0 }), (err) => ({ success: false, error: err as Error }));
    if (!sudo.success) {
      await server.close();
      const why = "error" in sudo ? `: ${sudo.error.message}` : "";
      throw new UserError(`'sudo aws-vault proxy' failed${why}`);
    }
  }
  cleanups.push(async () => {
    await stopProxy(listen);
  });
  for (let i = 0; i < 50 && !(await accepts(listen)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!(await accepts(listen))) {
    throw new UserError(`the proxy did not start listening on ${listen.hostname}:${listen.port}`);
  }
  return server;
}

/** Whether something accepts TCP connections at the address (10 ms, as aws-vault checks). */
async function accepts(addr: { hostname: string; port: number }): Promise<boolean> {
  let timer: number | undefined;
  const attempt = Deno.connect({ hostname: addr.hostname, port: addr.port });
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), 100) as unknown as number;
  });
  try {
    const conn = await Promise.race([attempt, timeout]);
    if (conn) conn.close();
    else attempt.then((c) => c.close(), () => {});
    return conn !== undefined;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

function roleSource(
  arn: string,
  roles: Map<string, RefreshingCredentials>,
  base: RefreshingCredentials,
  profile: ProfileConfig,
  ctx: CommandContext,
  cleanups: (() => Promise<void> | void)[],
  stsFactory: StsClientFactory,
): RefreshingCredentials | undefined {
  const known = roles.get(arn);
  if (known) return known;
  if (!ROLE_ARN.test(arn) || roles.size >= MAX_ROLE_ARNS) return undefined;
  const { runtime } = ctx;
  const source = new RefreshingCredentials({
    name: arn,
    now: () => runtime.now(),
    log: (line) => ctx.log.debug(line),
    fetch: async (): Promise<Credentials> => {
      const creds = await base.get();
      const sts = stsFactory(creds, {
        region: profile.region,
        endpointUrl: profile.endpointUrl,
        stsRegionalEndpoints: profile.stsRegionalEndpoints,
      });
      // The served credentials are temporary: AWS refuses to chain a role for longer than 1h.
      const durationMs = creds.sessionToken
        ? Math.min(profile.durations.assumeRole, ROLE_CHAINING_LIMIT_MS)
        : profile.durations.assumeRole;
      return await sts.assumeRole({
        roleArn: arn,
        roleSessionName: defaultRoleSessionName(runtime.now()),
        durationSeconds: Math.round(durationMs / 1000),
      });
    },
  });
  roles.set(arn, source);
  cleanups.push(() => source.close());
  return source;
}

function profileSource(
  name: string,
  configured: string[],
  profiles: Map<string, RefreshingCredentials>,
  fetchFor: (name: string, min: number, base: boolean) => Promise<Credentials>,
  ctx: CommandContext,
  cleanups: (() => Promise<void> | void)[],
): RefreshingCredentials | undefined {
  const known = profiles.get(name);
  if (known) return known;
  if (!configured.includes(name)) return undefined;
  const { runtime } = ctx;
  const source = new RefreshingCredentials({
    name,
    now: () => runtime.now(),
    log: (line) => ctx.log.debug(line),
    fetch: (min) => fetchFor(name, min, false),
  });
  profiles.set(name, source);
  cleanups.push(() => source.close());
  return source;
}
