/**
 * The four client stacks the credential servers must serve: the AWS CLI v2 (Debian awscli),
 * the AWS CLI v1 and boto3 of the image, and the JS SDK's container and instance-metadata
 * providers (`@smithy/credential-provider-imds`; for containers also `fromHttp`, which the
 * SDK's default chain uses today). Each asks STS (our test STS, by --endpoint-url) who it is with the credentials it
 * found, so the test STS sees the served key with a checked signature.
 */
import { commandPeer, type Peer } from "./peers.ts";

/** The client stacks. */
export const CLIENTS = ["aws-cli-v2", "aws-cli-v1", "boto3", "js-sdk", "js-sdk-http"] as const;
export type Client = typeof CLIENTS[number];

const JS_CLIENT = new URL("./js_sdk_client.ts", import.meta.url).pathname;
const BOTO3 = [
  "import boto3, json, sys",
  "c = boto3.client('sts', endpoint_url=sys.argv[1], region_name='us-east-1')",
  "print(json.dumps(c.get_caller_identity()['Arn']))",
].join("\n");

/** The client stacks as test peers (the JS SDK comes with Deno and the lock file). */
export const CLIENT_PEERS: Peer[] = [
  commandPeer("aws-cli-v2", "/usr/bin/aws", ["--version"]),
  {
    name: "aws-cli-v1",
    probe: async () => {
      const out = await new Deno.Command("aws", { args: ["--version"], stderr: "piped" })
        .output().catch(() => undefined);
      const dec = new TextDecoder();
      const text = out ? dec.decode(out.stdout) + dec.decode(out.stderr) : "";
      return /aws-cli\/1\./.test(text) ? undefined : "no AWS CLI v1 as `aws` on PATH";
    },
  },
  commandPeer("boto3", "python3", ["-c", "import boto3"]),
];

/** The argv that runs `sts get-caller-identity` with a client (mode: which JS provider). */
export function clientCommand(
  client: Client,
  stsUrl: string,
  mode: "container" | "instance",
): string[] {
  switch (client) {
    case "aws-cli-v2":
      return [
        "/usr/bin/aws",
        "sts",
        "get-caller-identity",
        "--endpoint-url",
        stsUrl,
        "--query",
        "Arn",
      ];
    case "aws-cli-v1":
      return ["aws", "sts", "get-caller-identity", "--endpoint-url", stsUrl, "--query", "Arn"];
    case "boto3":
      return ["python3", "-c", BOTO3, stsUrl];
    case "js-sdk":
      return [Deno.execPath(), "run", "-A", "--quiet", JS_CLIENT, mode, stsUrl];
    case "js-sdk-http":
      // fromHttp serves containers only; for instance metadata it is the same provider again.
      return [
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        JS_CLIENT,
        mode === "container" ? "container-http" : mode,
        stsUrl,
      ];
  }
}

/** A shell script running every client in turn, each printing `<client> <exit code> <output>`. */
export function allClientsScript(stsUrl: string, mode: "container" | "instance"): string {
  const q = (w: string) => `'${w.replaceAll("'", `'"'"'`)}'`;
  return CLIENTS.map((c) =>
    `out=$(${clientCommand(c, stsUrl, mode).map(q).join(" ")} 2>&1); echo "${c} $? $out"`
  ).join("\n");
}

/** Parses the script's output: client → [exit code, output]. */
export function parseClientLines(stdout: string): Map<string, [number, string]> {
  const m = new Map<string, [number, string]>();
  for (const line of stdout.split("\n")) {
    const match = /^(\S+) (\d+) ([\s\S]*)$/.exec(line);
    if (match && (CLIENTS as readonly string[]).includes(match[1])) {
      m.set(match[1], [Number(match[2]), match[3]]);
    }
  }
  return m;
}
