/**
 * Upload items (`UPLOAD#{uploadId}` / `UPLOAD`): who asked for an upload and what they declared, so
 * that sendMessage can tell another user's upload (forbidden) from one that never existed (not_found)
 * and compare the stored object with the declaration. They expire with the unattached objects: the
 * table's TTL removes them a day after the request, as the bucket's lifecycle rule removes `uploads/`.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
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

/** A day, like the bucket's lifecycle rule for `uploads/` (lib/constructs/attachment-bucket.ts). */
export const UPLOAD_RECORD_TTL_SECONDS = 24 * 60 * 60;

/**
 * Unconditional: a retried requestUpload has the same uploadId (functions/domain/request-upload.ts)
 * and only its owner can ask for it, so the newest declaration wins.
 */
export async function putUpload(upload: UploadRecord, now: Date): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        ...keys.upload(upload.uploadId),
        type: 'upload',
        ...upload,
        [TABLE.timeToLiveAttribute]: Math.floor(now.getTime() / 1000) + UPLOAD_RECORD_TTL_SECONDS,
      },
    }),
  );
}

/** The uploads that exist among `uploadIds` (strongly consistent: an upload asked for a moment ago counts). */
export async function readUploads(uploadIds: readonly string[]): Promise<Map<string, UploadRecord>> {
  const items = await batchGetItems(
    uploadIds.map((uploadId) => keys.upload(uploadId)),
    { consistent: true },
  );
  const found = new Map<string, UploadRecord>();
  for (const item of items) {
    if (typeof item.uploadId !== 'string' || typeof item.ownerId !== 'string') continue;
    found.set(item.uploadId, {
      uploadId: item.uploadId,
      ownerId: item.ownerId,
      key: String(item.key),
      contentType: String(item.contentType),
      size: Number(item.size),
      requestedAt: String(item.requestedAt),
    });
  }
  return found;
}
