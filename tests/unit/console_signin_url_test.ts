/**
 * Console sign-in URLs for every partition, decoded and checked field by field; hostile
 * regions and paths never move the link off AWS's hosts.
 */
import assert from "node:assert/strict";
import {
  consoleDestination,
  consolePartition,
  loginUrl,
  logoutFirstUrl,
  signinTokenUrl,
} from "../../lib/console/signin_url.ts";
import { UserError } from "../../lib/errors.ts";

const PARTITIONS: {
  region: string | undefined;
  partition: string;
  federation: string;
  home: string;
  ec2: string;
}[] = [
  {
    region: undefined,
    partition: "aws",
    federation: "https://signin.aws.amazon.com/federation",
    home: "https://console.aws.amazon.com/",
    ec2: "https://console.aws.amazon.com/ec2/v2/home",
  },
  {
    region: "us-east-1",
    partition: "aws",
    federation: "https://signin.aws.amazon.com/federation",
    home: "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1",
    ec2: "https://us-east-1.console.aws.amazon.com/ec2/v2/home?region=us-east-1",
  },
  {
    region: "eu-west-1",
    partition: "aws",
    federation: "https://eu-west-1.signin.aws.amazon.com/federation",
    home: "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1",
    ec2: "https://eu-west-1.console.aws.amazon.com/ec2/v2/home?region=eu-west-1",
  },
  {
    region: "cn-north-1",
    partition: "aws-cn",
    federation: "https://signin.amazonaws.cn/federation",
    home: "https://cn-north-1.console.amazonaws.cn/console/home?region=cn-north-1",
    ec2: "https://cn-north-1.console.amazonaws.cn/ec2/v2/home?region=cn-north-1",
  },
  {
    region: "us-gov-west-1",
    partition: "aws-us-gov",
    federation: "https://signin.amazonaws-us-gov.com/federation",
    home: "https://us-gov-west-1.console.amazonaws-us-gov.com/console/home?region=us-gov-west-1",
    ec2: "https://us-gov-west-1.console.amazonaws-us-gov.com/ec2/v2/home?region=us-gov-west-1",
  },
  {
    region: "eusc-de-east-1",
    partition: "aws-eusc",
    federation: "https://signin.amazonaws-eusc.eu/federation",
    home: "https://eusc-de-east-1.console.amazonaws-eusc.eu/console/home?region=eusc-de-east-1",
    ec2: "https://eusc-de-east-1.console.amazonaws-eusc.eu/ec2/v2/home?region=eusc-de-east-1",
  },
];

const SECRET = "s3cr+t/with=chars&more";
const TOKEN = "IQoJb3JpZ2luX2VjE+/==&x";

for (const want of PARTITIONS) {
  Deno.test(`login URL for ${want.region ?? "no region"} (${want.partition})`, () => {
    const p = consolePartition(want.region);
    assert.equal(p.name, want.partition);
    assert.equal(p.federationUrl, want.federation);
    assert.equal(consoleDestination(p, want.region, undefined), want.home);
    assert.equal(consoleDestination(p, want.region, "ec2/v2/home"), want.ec2);
    assert.equal(consoleDestination(p, want.region, "/ec2/v2/home"), want.ec2);

    // getSigninToken: the Session JSON carries exactly the three fields, secrets intact.
    const req = new URL(signinTokenUrl(p.federationUrl, {
      accessKeyId: "ASIAEXAMPLE",
      secretAccessKey: SECRET,
      sessionToken: TOKEN,
    }, 7200));
    assert.equal(`${req.origin}${req.pathname}`, want.federation);
    assert.deepEqual([...req.searchParams.keys()].sort(), ["Action", "Session", "SessionDuration"]);
    assert.equal(req.searchParams.get("Action"), "getSigninToken");
    assert.equal(req.searchParams.get("SessionDuration"), "7200");
    assert.deepEqual(JSON.parse(req.searchParams.get("Session")!), {
      sessionId: "ASIAEXAMPLE",
      sessionKey: SECRET,
      sessionToken: TOKEN,
    });
    const noDuration = new URL(signinTokenUrl(p.federationUrl, {
      accessKeyId: "A",
      secretAccessKey: "B",
      sessionToken: "C",
    }));
    assert.equal(noDuration.searchParams.has("SessionDuration"), false);

    // The login link.
    const signinToken = "tok+en/=&?#";
    const login = new URL(loginUrl(p.federationUrl, signinToken, want.ec2));
    assert.equal(`${login.origin}${login.pathname}`, want.federation);
    assert.deepEqual([...login.searchParams.keys()].sort(), [
      "Action",
      "Destination",
      "Issuer",
      "SigninToken",
    ]);
    assert.equal(login.searchParams.get("Action"), "login");
    assert.equal(login.searchParams.get("Issuer"), "aws-vault");
    assert.equal(login.searchParams.get("Destination"), want.ec2);
    assert.equal(login.searchParams.get("SigninToken"), signinToken);

    // --auto-logout: the partition's own sign-in host, the login link as redirect_uri.
    const logout = new URL(logoutFirstUrl(p.federationUrl, login.toString()));
    assert.equal(logout.origin, new URL(want.federation).origin);
    assert.equal(logout.pathname, "/oauth");
    assert.deepEqual([...logout.searchParams.keys()].sort(), ["Action", "redirect_uri"]);
    assert.equal(logout.searchParams.get("Action"), "logout");
    assert.equal(logout.searchParams.get("redirect_uri"), login.toString());
    assert.equal(
      new URL(logout.searchParams.get("redirect_uri")!).searchParams.get("SigninToken"),
      signinToken,
    );
  });
}

Deno.test("a --path with its own query keeps it and gets region added once", () => {
  const p = consolePartition("eu-west-1");
  const d = new URL(consoleDestination(p, "eu-west-1", "s3/buckets/my-bucket?tab=objects"));
  assert.equal(d.origin, "https://eu-west-1.console.aws.amazon.com");
  assert.equal(d.pathname, "/s3/buckets/my-bucket");
  assert.equal(d.searchParams.get("tab"), "objects");
  assert.equal(d.searchParams.get("region"), "eu-west-1");
  const own = new URL(consoleDestination(p, "eu-west-1", "ec2/home?region=us-east-2"));
  assert.deepEqual(own.searchParams.getAll("region"), ["us-east-2"]);
});

Deno.test("hostile --path values never leave the console origin", () => {
  const p = consolePartition("us-east-2");
  for (
    const path of [
      "//evil.example/x",
      "https://evil.example/",
      "javascript:alert(1)",
      "HTTPS://evil.example",
      "\\\\evil.example",
      "/\\evil.example",
      "ec2 home",
      "ec2\nhome",
      "ec2\u0000",
      "\u007f",
    ]
  ) {
    assert.throws(
      () => consoleDestination(p, "us-east-2", path),
      UserError,
      JSON.stringify(path),
    );
  }
  // `..` cannot climb above the origin; it only normalises inside it.
  const up = new URL(consoleDestination(p, "us-east-2", "../../../ec2/home"));
  assert.equal(up.origin, "https://us-east-2.console.aws.amazon.com");
  assert.equal(up.pathname, "/ec2/home");
  // Encoded characters stay encoded inside the path.
  const enc = new URL(consoleDestination(p, "us-east-2", "s3/buckets/a%2Fb"));
  assert.equal(enc.origin, "https://us-east-2.console.aws.amazon.com");
});

Deno.test("hostile or unknown regions are refused before any URL is built", () => {
  for (
    const region of [
      "evil.example",
      "us-east-1.evil.example",
      "us-east-1/",
      "us-east-1#",
      "us-east-1@evil",
      "",
      " us-east-1",
      "US-EAST-1",
      "us-east-1\n",
      "a".repeat(300),
    ]
  ) {
    assert.throws(() => consolePartition(region), UserError, JSON.stringify(region));
  }
  // Isolated partitions have no console federation.
  assert.throws(() => consolePartition("us-iso-east-1"), /isolated partition/);
  assert.throws(() => consolePartition("us-isob-east-1"), /isolated partition/);
});
