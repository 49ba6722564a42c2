/**
 * The parts of the AWS SDK the program uses, per package. The client modules see each package
 * through {@link SdkPart}, so using a name not listed here is a type error; scripts/bundle.ts
 * puts only these names in the bundle's SDK module (a namespace re-export would keep every
 * command of every client: IAM alone has about 160).
 */

/** Each lazily loaded SDK package and the names the program takes from it. */
export const SDK_PARTS = {
  "@aws-sdk/client-iam": [
    "IAMClient",
    "CreateAccessKeyCommand",
    "DeleteAccessKeyCommand",
    "GetUserCommand",
    "ListAccessKeysCommand",
  ],
  "@aws-sdk/client-sso": ["SSOClient", "GetRoleCredentialsCommand"],
  "@aws-sdk/client-sso-oidc": [
    "SSOOIDCClient",
    "CreateTokenCommand",
    "RegisterClientCommand",
    "StartDeviceAuthorizationCommand",
  ],
  "@aws-sdk/client-sts": [
    "STSClient",
    "AssumeRoleCommand",
    "AssumeRoleWithWebIdentityCommand",
    "GetCallerIdentityCommand",
    "GetFederationTokenCommand",
    "GetSessionTokenCommand",
  ],
} as const;

/** The packages, by specifier. */
interface SdkPackages {
  "@aws-sdk/client-iam": typeof import("@aws-sdk/client-iam");
  "@aws-sdk/client-sso": typeof import("@aws-sdk/client-sso");
  "@aws-sdk/client-sso-oidc": typeof import("@aws-sdk/client-sso-oidc");
  "@aws-sdk/client-sts": typeof import("@aws-sdk/client-sts");
}

/** What the program may use of one package: the names {@link SDK_PARTS} lists. */
export type SdkPart<P extends keyof typeof SDK_PARTS> = Pick<
  SdkPackages[P],
  Extract<(typeof SDK_PARTS)[P][number], keyof SdkPackages[P]>
>;

/** Names in SDK_PARTS that their package does not export: none, or `deno check` fails here. */
type Misspelt = {
  [P in keyof typeof SDK_PARTS]: Exclude<(typeof SDK_PARTS)[P][number], keyof SdkPackages[P]>;
}[keyof typeof SDK_PARTS];
const noneMisspelt: [Misspelt] extends [never] ? true : Misspelt = true;
void noneMisspelt;
