/** The INI parser: AWS SDK/botocore rules, line numbers, and one clear error for a bad line. */
import assert from "node:assert/strict";
import { parseIni } from "../../lib/config/ini.ts";
import { UserError } from "../../lib/errors.ts";

function sectionsOf(text: string): Record<string, Record<string, [string, number]>> {
  const out: Record<string, Record<string, [string, number]>> = {};
  for (const s of parseIni(text, "cfg").sections) {
    out[s.name] = {};
    for (const [k, v] of s.values) out[s.name][k] = [v.value, v.line];
  }
  return out;
}

const cases: Array<{ name: string; text: string; want: ReturnType<typeof sectionsOf> }> = [
  {
    name: "key = value split at the first =, keys lowercased, values trimmed",
    text: "[profile a]\nRole_ARN = arn:aws:iam::1:role/R=x  \nregion=eu-west-1",
    want: { "profile a": { role_arn: ["arn:aws:iam::1:role/R=x", 2], region: ["eu-west-1", 3] } },
  },
  {
    name: "full-line comments with # and ;, indented too",
    text: "# top\n[default]\n; c\n  # indented\nregion = us-east-1",
    want: { default: { region: ["us-east-1", 5] } },
  },
  {
    name: "inline comment only after whitespace: URLs keep their #",
    text:
      "[sso-session s]\nsso_start_url = https://x.awsapps.com/start#/\nsso_region = eu-west-1 # Ireland\nk = a;b ; c",
    want: {
      "sso-session s": {
        sso_start_url: ["https://x.awsapps.com/start#/", 2],
        sso_region: ["eu-west-1", 3],
        k: ["a;b", 4],
      },
    },
  },
  {
    name: "nested sub-section keys become parent.child",
    text:
      "[profile a]\ns3 =\n  max_concurrent_requests = 20\n  Addressing_Style = path\nregion = x",
    want: {
      "profile a": {
        s3: ["", 2],
        "s3.max_concurrent_requests": ["20", 3],
        "s3.addressing_style": ["path", 4],
        region: ["x", 5],
      },
    },
  },
  {
    name: "CRLF line endings and a BOM",
    text: "\uFEFF[default]\r\nregion = eu-west-2\r\n\r\n[profile b]\r\nmfa_serial = M\r\n",
    want: { default: { region: ["eu-west-2", 2] }, "profile b": { mfa_serial: ["M", 5] } },
  },
  {
    name: "duplicate sections merge, later keys win; header comments allowed",
    text: "[profile a] # first\nregion = x\n[profile b]\n[profile a]\nregion = y\nrole_arn = R",
    want: { "profile a": { region: ["y", 5], role_arn: ["R", 6] }, "profile b": {} },
  },
  {
    name: "an indented line without = continues the previous value",
    text: "[profile a]\ncredential_process = tool\n  --flag",
    want: { "profile a": { credential_process: ["tool\n--flag", 2] } },
  },
  {
    name: "one pair of surrounding quotes is removed, as aws-vault's go-ini does",
    text: [
      "[profile q]",
      'region = "eu-central-1"',
      "role_arn = 'arn:aws:iam::1:role/R'",
      "source_profile = `base`",
      'mfa_serial = """arn:aws:iam::1:mfa/u"""',
      'credential_process = "tool" --arg "x"',
      'a = "a"b"',
      "b = 'it's'",
      'c = ""',
      'd = "',
      "e = \"x'",
      'f = "spaced value" # comment',
      "g = ' padded '",
    ].join("\n"),
    want: {
      "profile q": {
        region: ["eu-central-1", 2],
        role_arn: ["arn:aws:iam::1:role/R", 3],
        source_profile: ["base", 4],
        mfa_serial: ["arn:aws:iam::1:mfa/u", 5],
        credential_process: ['"tool" --arg "x"', 6],
        a: ['"a"b"', 7],
        b: ["'it's'", 8],
        c: ["", 9],
        d: ['"', 10],
        e: ["\"x'", 11],
        f: ["spaced value", 12],
        g: [" padded ", 13],
      },
    },
  },
  {
    name: 'go-ini\'s """ and backtick values span lines, verbatim, up to the last closing quote',
    text: [
      "[profile m]",
      'credential_process = """tool',
      "  --flag=1 # not a comment",
      "",
      '--last""" # after the value',
      "region = `eu-west-1`",
      "b = `one",
      "two` tail",
      'c = """"""',
      'd = """a"""b"""',
      'e = """ # kept """',
      'f = """',
      'x"""',
    ].join("\n"),
    want: {
      "profile m": {
        credential_process: ["tool\n  --flag=1 # not a comment\n\n--last", 2],
        region: ["eu-west-1", 6],
        b: ["one\ntwo", 7],
        c: ["", 9],
        d: ['a"""b', 10],
        e: [" # kept ", 11],
        f: ["\nx", 12],
      },
    },
  },
  {
    name: "a multi-line value in a nested sub-section, then the parent's keys go on",
    text: '[profile n]\ns3 =\n  note = """a\nb"""\n  max = 1\nregion = r',
    want: {
      "profile n": {
        s3: ["", 2],
        "s3.note": ["a\nb", 3],
        "s3.max": ["1", 5],
        region: ["r", 6],
      },
    },
  },
  {
    name: "a trailing backslash joins an indented next line, as go-ini and botocore both see it",
    text: "[profile c]\ncredential_process = tool \\\n   --flag \\\n   --more\nregion = r",
    want: { "profile c": { credential_process: ["tool --flag --more", 2], region: ["r", 5] } },
  },
  {
    name: "a trailing backslash before an unindented line is kept (go-ini would eat the line)",
    text: "[profile d]\nweb_identity_token_file = C:\\tokens\\\nregion = r\nx = y \\\n\n  z = 1",
    want: {
      "profile d": {
        web_identity_token_file: ["C:\\tokens\\", 2],
        region: ["r", 3],
        x: ["y \\", 4],
        z: ["1", 6],
      },
    },
  },
];

for (const c of cases) {
  Deno.test(`parseIni: ${c.name}`, () => {
    assert.deepEqual(sectionsOf(c.text), c.want);
  });
}

const bad: Array<{ name: string; text: string; message: string }> = [
  {
    name: "a line that is neither a header nor key = value",
    text: "[profile a]\nregion = x\nthis is not ini\n",
    message: 'cfg:3: expected "key = value" or "[section]"',
  },
  {
    name: "a key before any section",
    text: "\nregion = x\n[default]",
    message: 'cfg:2: "key = value" line before any [section]',
  },
  { name: "an unclosed header", text: "[default]\n[profile a\n", message: "cfg:2: section header" },
  { name: "a missing key", text: "[default]\n = x", message: 'cfg:2: missing key before "="' },
  {
    name: 'an unterminated """ value (named by the line that opens it)',
    text: '[default]\nregion = x\ncredential_process = """tool --secret=hunter2\n  more\n',
    message: 'cfg:3: the """ value of "credential_process" is never closed (missing """)',
  },
  {
    name: "an unterminated backtick value",
    text: "[default]\nmfa_serial = `arn",
    message: 'cfg:2: the ` value of "mfa_serial" is never closed',
  },
  {
    name: 'a """ value running into a section header the AWS CLI would read',
    text: '[profile a]\nrole_arn = """arn\n\n[profile b]\nregion = x"""\n',
    message: 'cfg:2: the """ value of "role_arn" is not closed before the section header on line 4',
  },
];

for (const c of bad) {
  Deno.test(`parseIni rejects ${c.name}, naming file:line`, () => {
    const err = thrown(() => parseIni(c.text, "cfg"));
    assert.ok(err.message.startsWith(c.message), err.message);
    assert.ok(!err.message.includes("\n"));
  });
}

Deno.test("parseIni: an unterminated value's error never echoes the value", () => {
  const err = thrown(() => parseIni('[a]\nk = """hunter2\nhunter3', "cfg"));
  assert.ok(!err.message.includes("hunter"), err.message);
});

Deno.test("parseIni error never echoes the bad line (it may be a pasted secret)", () => {
  const err = thrown(() =>
    parseIni("[default]\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "cfg")
  );
  assert.match(err.message, /^cfg:2: /);
  assert.ok(!err.message.includes("wJalr"));
});

function thrown(fn: () => unknown): UserError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    return err;
  }
  assert.fail("expected a UserError");
}
