/**
 * Federated user names and IAM user names: paths, long names, one-character names, odd
 * characters, and the AccessDenied / caller-ARN fallbacks of the user lookup.
 */
import assert from "node:assert/strict";
import { AwsError } from "../../lib/aws/aws_error.ts";
import type { IamClient } from "../../lib/aws/iam_client.ts";
import { federationName } from "../../lib/vault/federation_token.ts";
import { arnInAccessDenied, iamUserName, userNameFromArn } from "../../lib/vault/iam_user.ts";

Deno.test("federated user names fit GetFederationToken's 2-32 characters of [\\w+=,.@-]", () => {
  assert.equal(federationName("alice"), "alice");
  assert.equal(federationName("a".repeat(64)), "a".repeat(32));
  assert.equal(federationName("b"), "b-");
  assert.equal(federationName("first.last+ops=x,y@corp-1_2"), "first.last+ops=x,y@corp-1_2");
  assert.equal(federationName("weird name/é"), "weird-name--");
  for (const n of ["x", "a".repeat(100), "é", "../../..", "a b\nc"]) {
    assert.match(federationName(n), /^[\w+=,.@-]{2,32}$/, JSON.stringify(n));
  }
});

Deno.test("user names from ARNs drop the path; non-user ARNs give none", () => {
  assert.equal(userNameFromArn("arn:aws:iam::111111111111:user/alice"), "alice");
  assert.equal(userNameFromArn("arn:aws:iam::111111111111:user/team/ops/alice"), "alice");
  assert.equal(userNameFromArn("arn:aws-cn:iam::111111111111:user/bob"), "bob");
  assert.equal(userNameFromArn("arn:aws-us-gov:iam::111111111111:user/x/carol"), "carol");
  assert.equal(userNameFromArn("arn:aws:iam::111111111111:root"), undefined);
  assert.equal(userNameFromArn("arn:aws:sts::111111111111:assumed-role/r/s"), undefined);
  assert.equal(userNameFromArn("arn:aws:iam::111111111111:user/"), undefined);
  assert.equal(userNameFromArn("not an arn"), undefined);
  assert.equal(
    arnInAccessDenied(
      "User: arn:aws:iam::111111111111:user/team/alice is not authorized to perform: iam:GetUser on resource: user alice",
    ),
    "arn:aws:iam::111111111111:user/team/alice",
  );
  assert.equal(arnInAccessDenied("Access denied"), undefined);
});

function iam(getUser: IamClient["getUser"]): IamClient {
  const no = () => Promise.reject(new Error("not used"));
  return { getUser, createAccessKey: no, deleteAccessKey: no, listAccessKeys: no };
}

const denied = (message: string) =>
  new AwsError(message, { code: "AccessDenied", service: "iam", action: "GetUser" });

Deno.test("iamUserName: GetUser, else the ARN in AccessDenied, else the caller ARN", async () => {
  assert.equal(
    await iamUserName(iam(() => Promise.resolve({ userName: "alice", arn: "" })), undefined),
    "alice",
  );
  assert.equal(
    await iamUserName(
      iam(() =>
        Promise.reject(
          denied("User: arn:aws:iam::1:user/p/q/dave is not authorized to perform: iam:GetUser"),
        )
      ),
      "arn:aws:iam::1:user/other",
    ),
    "dave",
  );
  assert.equal(
    await iamUserName(
      iam(() =>
        Promise.reject(
          new AwsError("boom", { code: "InternalFailure", service: "iam", action: "GetUser" }),
        )
      ),
      "arn:aws:iam::1:user/path/erin",
    ),
    "erin",
  );
  // No fallback left: the IAM error itself.
  await assert.rejects(
    iamUserName(iam(() => Promise.reject(denied("Access denied"))), "arn:aws:iam::1:root"),
    /Access denied/,
  );
  // Not an AWS error (a bug): not hidden.
  await assert.rejects(
    iamUserName(iam(() => Promise.reject(new TypeError("bug"))), "arn:aws:iam::1:user/x"),
    TypeError,
  );
});
