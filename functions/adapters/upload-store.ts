/**
 * Upload items (`UPLOAD#{uploadId}` / `UPLOAD`): who asked for an upload and what they declared, so
 * that sendMessage can tell another user's upload (forbidden) from one that never existed (not_found)
 * and compare the stored object with the declaration. An unattached one expires with its object: the
 * table's TTL removes it a day after the request, as the bucket's lifecycle rule removes `uploads/`.
 *
 * An upload belongs to one message (protocol.md 1.2): attaching it claims the item for one
 * (sender, clientMessageId) and records the message's copy of it (`claimedBy`, `attachmentKey`). A
 * claim is never taken back and never expires (the claim removes the TTL): the uploadId stays that
 * message's, a retried send of that clientMessageId finds its copy, and a retried requestUpload of it
 * is refused rather than reopening the upload for another message.
 *
 * Each upload's declared size also counts, once, against its owner's daily upload quota (putUpload,
 * protocol.md 1.2 "Limits on every write").
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TABLE } from '../../definitions/table.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { batchGetItems } from './batch-get.ts';
import { keys } from './keys.ts';

export interface UploadRecord {
  uploadId: string;
  ownerId: string;
  /** The object's key in the attachments bucket. */
  key: string;
  contentType: string;
  size: number;
  requestedAt: string;
}

/** An upload item as read back: with its claim once a message holds it. */
export interface StoredUpload extends UploadRecord {
  /** The message that holds the upload, as `claimOf` names it. */
  claimedBy?: string;
  /** Where that message's copy lies in the bucket. */
  attachmentKey?: string;
}

/** A claim names the one message an upload belongs to: the sender's clientMessageId (send receipts' identity). */
export const claimOf = (senderId: string, clientMessageId: string): string =>
  `${senderId}#${clientMessageId}`;

/** A day, like the bucket's lifecycle rule for `uploads/` (lib/constructs/attachment-bucket.ts). */
export const UPLOAD_RECORD_TTL_SECONDS = 24 * 60 * 60;

/** `YYYY-MM-DD` of `now` in UTC: the day whose quota a request counts against. */
export const utcDay = (now: Date): string => now.toISOString().slice(0, 10);

/** Epoch ms of the UTC midnight that ends `now`'s day, when its quota starts again. */
export const nextUtcMidnight = (now: Date): number =>
  Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);

/**
 * What the upload item says the quota holds for it (`quotaBytes` on `quotaDay`), as the last failed
 * condition returned it; `exists: false` while no item is known to exist.
 */
type Known = { exists: false } | { exists: true; day: string | undefined; bytes: number };

/** Tries before giving up: each lost try means a concurrent request of the same upload changed its item. */
const MAX_TRIES = 4;

/**
 * Records the upload (the item sendMessage checks) and counts its bytes in the owner's quota for the
 * UTC day, `bytesPerDay`: `stored`, or `overQuota` (nothing changed), or `attached` when a message
 * already holds it (nothing changed: an upload belongs to one message, protocol.md 1.2).
 *
 * A retried requestUpload has the same uploadId (functions/domain/request-upload.ts) and only its owner
 * can ask for it, so the newest declaration wins. The item remembers what the quota holds for it
 * (`quotaBytes` on `quotaDay`), so a retry that day adds only what its size exceeds that by (nothing for
 * the same size): the quota counts each upload once. Two single-item writes, never a read:
 * 1. the owner's day item (`RATE#{owner}` / `UPLOAD_BYTES#{day}`): `ADD bytes :delta` if
 *    `bytes <= :quota - :delta`, so concurrent requests together never pass the quota;
 * 2. the upload item, conditional on what the request assumed it holds (first: that there is none).
 * When step 2 finds the item otherwise, the failed condition returns it (ALL_OLD), step 1's bytes are
 * given back, and the request is decided again from what it holds. A request that dies between the two
 * has counted bytes nobody holds: the quota errs toward refusing, never toward letting more through.
 * A day's item expires at the end of its day.
 */
export async function putUpload(
  upload: UploadRecord,
  now: Date,
  bytesPerDay: number,
): Promise<'stored' | 'attached' | 'overQuota'> {
  const day = utcDay(now);
  // The usual request is a new upload: counted in full, then recorded if no item exists.
  let known: Known = { exists: false };
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const counted = known.exists && known.day === day ? known.bytes : 0;
    const delta = Math.max(0, upload.size - counted);
    if (delta > 0 && !(await addDailyBytes(upload.ownerId, day, delta, bytesPerDay, now))) {
      // Over the quota, unless this is a retry whose bytes today's count already holds.
      if (known.exists) return 'overQuota';
      const retry = await writeUpload(upload, now, { retryCoveredOn: day });
      if (retry.written) return 'stored';
      if (retry.claimed) return 'attached';
      if (!retry.found.exists) return 'overQuota';
      known = retry.found;
      continue;
    }
    const quota = { day, bytes: counted + delta };
    const outcome = await writeUpload(upload, now, { known, quota });
    if (outcome.written) return 'stored';
    if (delta > 0) await addDailyBytes(upload.ownerId, day, -delta, bytesPerDay, now);
    if (outcome.claimed) return 'attached';
    known = outcome.found;
  }
  throw new Error(`upload ${upload.uploadId}: its item kept changing under concurrent requests`);
}

type WriteOutcome = { written: true } | { written: false; claimed: boolean; found: Known };

/**
 * The conditional write of the upload item: a put of the whole item as the request assumed it
 * (`known`), with what the quota now holds for it; or, when the day's quota is full, an update of the
 * declaration only if it is a retry whose bytes today's count already holds (`retryCoveredOn`: its
 * quota fields stay as they are).
 */
async function writeUpload(
  upload: UploadRecord,
  now: Date,
  mode: { known: Known; quota: { day: string; bytes: number } } | { retryCoveredOn: string },
): Promise<WriteOutcome> {
  const expiresAt = Math.floor(now.getTime() / 1000) + UPLOAD_RECORD_TTL_SECONDS;
  const write = () =>
    'retryCoveredOn' in mode
      ? dynamo.send(
          new UpdateCommand({
            TableName: TABLE_NAME,
            Key: keys.upload(upload.uploadId),
            UpdateExpression:
              'SET #type = :type, ownerId = :ownerId, #key = :key, contentType = :contentType, ' +
              '#size = :size, requestedAt = :requestedAt, #ttl = :expiresAt',
            ConditionExpression:
              'attribute_exists(PK) AND attribute_not_exists(claimedBy) AND quotaDay = :day AND quotaBytes >= :size',
            ExpressionAttributeNames: {
              '#type': 'type',
              '#key': 'key',
              '#size': 'size',
              '#ttl': TABLE.timeToLiveAttribute,
            },
            ExpressionAttributeValues: {
              ':type': 'upload',
              ':ownerId': upload.ownerId,
              ':key': upload.key,
              ':contentType': upload.contentType,
              ':size': upload.size,
              ':requestedAt': upload.requestedAt,
              ':expiresAt': expiresAt,
              ':day': mode.retryCoveredOn,
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        )
      : dynamo.send(
          new PutCommand({
            TableName: TABLE_NAME,
            Item: {
              ...keys.upload(upload.uploadId),
              type: 'upload',
              ...upload,
              quotaDay: mode.quota.day,
              quotaBytes: mode.quota.bytes,
              [TABLE.timeToLiveAttribute]: expiresAt,
            },
            ...assumed(mode.known),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
  try {
    await write();
    return { written: true };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // lib-dynamodb does not unmarshall the item of a failed condition.
    const item = error.Item === undefined ? undefined : unmarshall(error.Item);
    if (item === undefined) return { written: false, claimed: false, found: { exists: false } };
    return {
      written: false,
      claimed: item.claimedBy !== undefined,
      found: {
        exists: true,
        day: typeof item.quotaDay === 'string' ? item.quotaDay : undefined,
        bytes: typeof item.quotaBytes === 'number' ? item.quotaBytes : 0,
      },
    };
  }
}

/** The put's condition: the item is as the request last saw it, and no message holds it. */
function assumed(known: Known): {
  ConditionExpression: string;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  if (!known.exists) return { ConditionExpression: 'attribute_not_exists(PK)' };
  if (known.day === undefined) {
    // An item from before the quota: nothing counted for it yet.
    return {
      ConditionExpression:
        'attribute_exists(PK) AND attribute_not_exists(claimedBy) AND attribute_not_exists(quotaDay)',
    };
  }
  return {
    ConditionExpression:
      'attribute_not_exists(claimedBy) AND quotaDay = :knownDay AND quotaBytes = :knownBytes',
    ExpressionAttributeValues: { ':knownDay': known.day, ':knownBytes': known.bytes },
  };
}

/**
 * Adds `delta` bytes (negative: gives them back) to the owner's count for `day`, if the count stays
 * within `bytesPerDay`: one conditional UpdateItem, so concurrent requests each check the total they
 * moved. Giving back is unconditional.
 */
async function addDailyBytes(
  ownerId: string,
  day: string,
  delta: number,
  bytesPerDay: number,
  now: Date,
): Promise<boolean> {
  if (delta > bytesPerDay) return false;
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.uploadQuota(ownerId, day),
        UpdateExpression: 'SET #type = :type, #ttl = :expiresAt ADD #bytes :delta',
        ...(delta > 0 && { ConditionExpression: 'attribute_not_exists(#bytes) OR #bytes <= :room' }),
        ExpressionAttributeNames: { '#type': 'type', '#ttl': TABLE.timeToLiveAttribute, '#bytes': 'bytes' },
        ExpressionAttributeValues: {
          ':type': 'uploadQuota',
          ':expiresAt': Math.floor(nextUtcMidnight(now) / 1000),
          ':delta': delta,
          ...(delta > 0 && { ':room': bytesPerDay - delta }),
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** The uploads that exist among `uploadIds` (strongly consistent: an upload asked for a moment ago counts). */
export async function readUploads(uploadIds: readonly string[]): Promise<Map<string, StoredUpload>> {
  const items = await batchGetItems(
    uploadIds.map((uploadId) => keys.upload(uploadId)),
    { consistent: true },
  );
  const found = new Map<string, StoredUpload>();
  for (const item of items) {
    if (typeof item.uploadId !== 'string' || typeof item.ownerId !== 'string') continue;
    found.set(item.uploadId, {
      uploadId: item.uploadId,
      ownerId: item.ownerId,
      key: String(item.key),
      contentType: String(item.contentType),
      size: Number(item.size),
      requestedAt: String(item.requestedAt),
      ...(typeof item.claimedBy === 'string' && { claimedBy: item.claimedBy }),
      ...(typeof item.attachmentKey === 'string' && { attachmentKey: item.attachmentKey }),
    });
  }
  return found;
}

export interface UploadClaim {
  uploadId: string;
  /** The claiming message's copy of the upload. */
  attachmentKey: string;
}

/**
 * Why claiming failed: the upload is held by another message (`holder`), or its item is gone (it
 * expired between the read and the claim).
 */
export type ClaimResult =
  | { claimed: true }
  | { claimed: false; uploadId: string; holder: string | undefined };

/**
 * Claims `uploads` for the message `claim` names, all or none: one conditional UpdateItem for one
 * upload, a TransactWriteItems of them for several (a refused send never leaves some of its uploads
 * claimed). A claim the same message already holds is taken again, so a retry passes.
 */
export async function claimUploads(claim: string, uploads: readonly UploadClaim[]): Promise<ClaimResult> {
  const updates = uploads.map((upload) => ({
    TableName: TABLE_NAME,
    Key: keys.upload(upload.uploadId),
    UpdateExpression: 'SET claimedBy = :claim, attachmentKey = :key REMOVE #ttl',
    ConditionExpression: 'attribute_exists(PK) AND (attribute_not_exists(claimedBy) OR claimedBy = :claim)',
    ExpressionAttributeNames: { '#ttl': TABLE.timeToLiveAttribute },
    ExpressionAttributeValues: { ':claim': claim, ':key': upload.attachmentKey },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  }));
  const [single] = updates;
  if (single === undefined) return { claimed: true };
  if (updates.length === 1) {
    try {
      await dynamo.send(new UpdateCommand(single));
      return { claimed: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return refused(uploads[0]?.uploadId, error.Item);
    }
  }
  try {
    await dynamo.send(new TransactWriteCommand({ TransactItems: updates.map((Update) => ({ Update })) }));
    return { claimed: true };
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const reasons = error.CancellationReasons ?? [];
    const index = reasons.findIndex((reason) => reason.Code === 'ConditionalCheckFailed');
    // Anything else (a TransactionConflict with a concurrent claim) fails the send: its retry decides.
    if (index < 0) throw error;
    return refused(uploads[index]?.uploadId, reasons[index]?.Item);
  }
}

/** lib-dynamodb does not unmarshall the item of a failed condition: it comes as raw attribute values. */
function refused(
  uploadId: string | undefined,
  item: Parameters<typeof unmarshall>[0] | undefined,
): ClaimResult {
  const holder = item === undefined ? undefined : unmarshall(item).claimedBy;
  return {
    claimed: false,
    uploadId: String(uploadId),
    holder: typeof holder === 'string' ? holder : undefined,
  };
}
