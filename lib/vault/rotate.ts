/**
 * Rotating a stored access key, with one invariant: whatever fails, and wherever the process
 * dies, the vault holds a key that works (or will, once IAM has propagated it), and when
 * something is left over the user is told exactly which key is stored and which exist in IAM.
 *
 * Order: check the stored key works and find its user; get the caller's credentials once (at
 * most one MFA prompt); create the new key; store it; verify it with GetCallerIdentity (retried
 * while IAM propagates it; on failure the old key is put back); delete the sessions made from
 * the old key; delete the old key.
 */
import { AwsError, INVALID_CREDENTIAL_CODES } from "../aws/aws_error.ts";
import type { IamClient, IamClientFactory, IamEndpointOptions } from "../aws/iam_client.ts";
import type { StsClientFactory } from "../aws/sts_client.ts";
import type { StsEndpointOptions } from "../aws/sts_endpoint.ts";
import { bytesToBase64Url, fnv1a64Hex } from "../encoding.ts";
import { errorLine, UserError } from "../errors.ts";
import type { Credentials } from "../credentials.ts";
import { userNameFromArn } from "./iam_user.ts";

/** Where the keys live. */
export interface RotationStore {
  get(profile: string): Promise<Credentials | undefined>;
  /** Writes and reads back; throws when the stored value is not `creds`. */
  replace(profile: string, creds: Credentials): Promise<void>;
}

/** What a rotation needs. */
export interface RotationDeps {
  store: RotationStore;
  sts: StsClientFactory;
  stsWhere: StsEndpointOptions;
  iam: IamClientFactory;
  iamWhere: IamEndpointOptions;
  /** Credentials for the IAM calls; called once (it may ask for an MFA code). */
  callerCredentials: () => Promise<Credentials>;
  /** Deletes the cached sessions made from the old key; returns how many. */
  removeSessions: () => Promise<number>;
  sleep: (ms: number) => Promise<void>;
  /** Progress lines for the user (stderr). */
  progress: (text: string) => void;
  /** Raw progress text without a newline (the dots of the verification wait). */
  tick: (text: string) => void;
  debug: (message: string) => void;
  /** How long the new key may take to start working (default 60 s). */
  verifyTimeoutMs?: number;
}

/** What was rotated. */
export interface RotationResult {
  userName: string;
  oldAccessKeyId: string;
  newAccessKeyId: string;
  sessionsRemoved: number;
}

/** aws-vault's way of showing a key in progress lines: only the last four characters. */
export function maskKey(accessKeyId: string): string {
  return `****************${accessKeyId.slice(-4)}`;
}

/** The lock a rotation of the key stored under `keysProfile` holds; a file name of at most 200. */
export function rotationLockName(keysProfile: string): string {
  const name = `rotate.${bytesToBase64Url(new TextEncoder().encode(keysProfile))}`;
  return name.length <= 200 ? name : `${name.slice(0, 182)}.${fnv1a64Hex(name)}`;
}

/** A failed rotation, with the state of the vault and of IAM in its message. */
export class RotationError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = "RotationError";
  }
}

/** Rotates the key stored under `keysProfile`. */
export async function rotateKey(
  keysProfile: string,
  deps: RotationDeps,
): Promise<RotationResult> {
  const old = await deps.store.get(keysProfile);
  if (!old) {
    throw new UserError(`no credentials stored for profile '${keysProfile}'`);
  }
  const oldId = old.accessKeyId;
  const stored = (id: string) => `the vault holds ${id} for profile '${keysProfile}'`;

  // 1. The stored key works, and whose it is (GetCallerIdentity needs no permission).
  let arn: string;
  try {
    arn = (await deps.sts(old, deps.stsWhere).getCallerIdentity()).arn;
  } catch (err) {
    throw new RotationError(
      `the key stored for profile '${keysProfile}' (${oldId}) does not work: ${
        errorLine(err)
      }; nothing was changed`,
    );
  }
  const userName = userNameFromArn(arn);
  if (!userName) {
    throw new RotationError(
      `the key stored for profile '${keysProfile}' belongs to ${arn}, not to an IAM user; only IAM users' keys can be rotated`,
    );
  }
  const deleteHint = (id: string) =>
    `aws iam delete-access-key --user-name ${userName} --access-key-id ${id}`;

  // 2. One set of caller credentials for every IAM call: one MFA prompt at most.
  const caller = await deps.callerCredentials();
  const iam = deps.iam(caller, deps.iamWhere);

  // 3. IAM allows two keys per user: a second one (an interrupted rotation?) is named, not guessed at.
  await checkRoomForKey(iam, userName, oldId, keysProfile, deps, deleteHint);

  // 4. The new key.
  let created: Credentials;
  try {
    created = await iam.createAccessKey(userName);
  } catch (err) {
    throw new RotationError(
      `could not create a new access key for IAM user ${userName}: ${
        errorLine(err)
      }; nothing was changed: ${stored(oldId)}, which still works`,
    );
  }
  const newId = created.accessKeyId;
  deps.progress(`Created new access key ${maskKey(newId)}`);

  // 5. Stored before anything else: the new secret exists nowhere else.
  try {
    await deps.store.replace(keysProfile, created);
  } catch (err) {
    const restored = await tryReplace(deps.store, keysProfile, old);
    const removed = await tryDelete(iam, newId, userName);
    throw new RotationError(
      `could not store the new key ${newId}: ${errorLine(err)}; ${
        restored ? stored(oldId) : `the vault may hold no usable key for '${keysProfile}'`
      }, which still works; the new key ${newId} ${
        removed ? "was deleted from IAM again" : `still exists in IAM: ${deleteHint(newId)}`
      }`,
    );
  }

  // 6. The new key works (IAM takes a few seconds to make a new key valid everywhere).
  const verified = await verifyKey(created, arn, deps);
  if (verified !== true) {
    const restored = await tryReplace(deps.store, keysProfile, old);
    if (!restored) {
      throw new RotationError(
        `the new key ${newId} did not work yet (${verified}) and the old key could not be put back: ${
          stored(newId)
        }; both ${oldId} and ${newId} exist in IAM; once ${newId} works, delete the old one: ${
          deleteHint(oldId)
        }`,
      );
    }
    const removed = await tryDelete(iam, newId, userName);
    throw new RotationError(
      `the new key ${newId} did not work (${verified}); ${
        stored(oldId)
      } again, which still works; the new key ${newId} ${
        removed ? "was deleted from IAM" : `still exists in IAM: ${deleteHint(newId)}`
      }`,
    );
  }

  // 7. Sessions made from the old key.
  let sessionsRemoved = 0;
  try {
    sessionsRemoved = await deps.removeSessions();
  } catch (err) {
    deps.progress(
      `Could not delete cached sessions (${errorLine(err)}); 'aws-vault clear' deletes them`,
    );
  }

  // 8. The old key.
  deps.progress(`Deleting old access key ${maskKey(oldId)}`);
  const deleted = await deleteWithRetry(iam, oldId, userName, deps);
  if (deleted !== true) {
    throw new RotationError(
      `could not delete the old key ${oldId}: ${deleted}; ${
        stored(newId)
      } (verified: it works); the old key ${oldId} still exists in IAM: ${deleteHint(oldId)}`,
    );
  }
  deps.progress(`Deleted old access key ${maskKey(oldId)}`);
  return { userName, oldAccessKeyId: oldId, newAccessKeyId: newId, sessionsRemoved };
}

async function checkRoomForKey(
  iam: IamClient,
  userName: string,
  oldId: string,
  keysProfile: string,
  deps: RotationDeps,
  deleteHint: (id: string) => string,
): Promise<void> {
  let keys;
  try {
    keys = await iam.listAccessKeys(userName);
  } catch (err) {
    deps.debug(`cannot list the access keys of ${userName}: ${errorLine(err)}`);
    return;
  }
  const others = keys.filter((k) => k.accessKeyId !== oldId);
  if (keys.length < 2 || others.length === 0) return;
  const list = others.map((k) => `${k.accessKeyId} (${k.status || "unknown status"})`).join(", ");
  throw new RotationError(
    `IAM user ${userName} already has two access keys: ${oldId}, stored for profile '${keysProfile}', and ${list}, which the vault does not hold (left by an interrupted rotation, or used elsewhere); IAM allows two, so delete the one you no longer use first: ${
      deleteHint(others[0].accessKeyId)
    }; nothing was changed`,
  );
}

/** true once the key signs as `arn`; else why not, after the retries. */
async function verifyKey(
  key: Credentials,
  arn: string,
  deps: RotationDeps,
): Promise<true | string> {
  const budget = deps.verifyTimeoutMs ?? 60_000;
  let slept = 0;
  let wait = 500;
  const done = (result: true | string) => {
    if (slept > 0) deps.tick("\n");
    return result;
  };
  for (;;) {
    try {
      const who = await deps.sts(key, deps.stsWhere).getCallerIdentity();
      return done(who.arn === arn ? true : `it signs as ${who.arn}, not ${arn}`);
    } catch (err) {
      const retry = err instanceof AwsError &&
        (INVALID_CREDENTIAL_CODES.has(err.code) || err.code === "NetworkError");
      if (!retry || slept + wait > budget) return done(errorLine(err));
      if (slept === 0) deps.tick("Waiting for IAM to make the new key valid");
      deps.tick(".");
      deps.debug(`the new key is not valid yet (${(err as AwsError).code}); retrying`);
      await deps.sleep(wait);
      slept += wait;
      wait = Math.min(wait * 2, 5_000);
    }
  }
}

async function deleteWithRetry(
  iam: IamClient,
  id: string,
  userName: string,
  deps: RotationDeps,
): Promise<true | string> {
  for (let attempt = 1;; attempt++) {
    try {
      await iam.deleteAccessKey(id, userName);
      return true;
    } catch (err) {
      if (err instanceof AwsError && err.code === "NoSuchEntity") return true;
      const final = attempt >= 3 ||
        (err instanceof AwsError && /AccessDenied|NotAuthorized/.test(err.code));
      if (final) return errorLine(err);
      deps.debug(`iam:DeleteAccessKey failed (${errorLine(err)}); retrying`);
      await deps.sleep(1_000 * attempt);
    }
  }
}

async function tryReplace(store: RotationStore, profile: string, creds: Credentials) {
  try {
    await store.replace(profile, creds);
    return true;
  } catch {
    return false;
  }
}

async function tryDelete(iam: IamClient, id: string, userName: string): Promise<boolean> {
  try {
    await iam.deleteAccessKey(id, userName);
    return true;
  } catch {
    return false;
  }
}
