/**
 * The IAM user name behind a set of credentials: from `iam:GetUser`, else from the ARN in the
 * AccessDenied message it returns, else from the caller's ARN. User names never include the
 * path (`arn:aws:iam::1:user/team/ops/alice` is user `alice`).
 */
import { AwsError } from "../aws/aws_error.ts";
import type { IamClient } from "../aws/iam_client.ts";

/** The user name of an IAM user ARN (`...:user/<path/>name`), or undefined for other ARNs. */
export function userNameFromArn(arn: string): string | undefined {
  const m = arn.match(/^arn:[\w-]+:iam::\d*:user\/(?:.*\/)?([^/]+)$/);
  return m?.[1];
}

/** The user ARN quoted in an AccessDenied message (`User: <arn> is not authorized ...`). */
export function arnInAccessDenied(message: string): string | undefined {
  return message.match(/User: (arn:[\w-]+:iam::\d*:user\/\S+) is not authorized/)?.[1];
}

/** The signing user's name; `callerArn` (from GetCallerIdentity) is the last fallback. */
export async function iamUserName(
  iam: IamClient,
  callerArn: string | undefined,
  debug: (message: string) => void = () => {},
): Promise<string> {
  try {
    return (await iam.getUser()).userName;
  } catch (err) {
    if (!(err instanceof AwsError)) throw err;
    const quoted = err.code === "AccessDenied" ? arnInAccessDenied(err.message) : undefined;
    const fromQuoted = quoted ? userNameFromArn(quoted) : undefined;
    if (fromQuoted) {
      debug(`iam:GetUser was denied; user name ${fromQuoted} from the error message`);
      return fromQuoted;
    }
    const fromCaller = callerArn ? userNameFromArn(callerArn) : undefined;
    if (fromCaller) {
      debug(`iam:GetUser failed (${err.code}); user name ${fromCaller} from the caller ARN`);
      return fromCaller;
    }
    throw err;
  }
}
