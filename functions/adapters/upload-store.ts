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

/**
 * A retried requestUpload has the same uploadId (functions/domain/request-upload.ts) and only its owner
 * can ask for it, so the newest declaration wins, until a message has claimed the upload: then the item
 * stays as it is (`attached`), claim included.
 */
export async function putUpload(upload: UploadRecord, now: Date): Promise<'stored' | 'attached'> {
  try {
    await dynamo.send(
      new PutCommand({
        TableName: TABLE_NAME,
        Item: {
          ...keys.upload(upload.uploadId),
          type: 'upload',
          ...upload,
          [TABLE.timeToLiveAttribute]: Math.floor(now.getTime() / 1000) + UPLOAD_RECORD_TTL_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(claimedBy)',
      }),
    );
    return 'stored';
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'attached';
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
