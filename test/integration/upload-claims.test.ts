/**
 * An upload belongs to one message (protocol.md 1.2), against DynamoDB Local: the conditions of
 * functions/adapters/upload-store.ts as DynamoDB evaluates them. A claim by one (sender,
 * clientMessageId) passes again for the same one and for nobody else, removes the TTL, never creates an
 * item, and several uploads are claimed all or none; a requestUpload never reopens a claimed upload.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import {
  claimOf,
  claimUploads,
  putUpload,
  readUploads,
  type UploadRecord,
} from '../../functions/adapters/upload-store.ts';
import { uploadIdFor } from '../../functions/domain/identifiers.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';

const NOW = new Date('2026-11-23T10:30:00.000Z');
/** A daily upload quota these tests never reach (upload-quota.test.ts tests it). */
const QUOTA = 1024 ** 4;

/** A fresh upload of `userId`'s, recorded as requestUpload records it. */
async function requested(userId: string, clientRequestId: string, size = 1000): Promise<UploadRecord> {
  const uploadId = uploadIdFor(userId, `${clientRequestId}-${Math.random()}`);
  const upload = {
    uploadId,
    ownerId: userId,
    key: `uploads/${userId}/${uploadId}`,
    contentType: 'image/png',
    size,
    requestedAt: NOW.toISOString(),
  };
  expect(await putUpload(upload, NOW, QUOTA)).toBe('stored');
  return upload;
}

async function itemOf(uploadId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.upload(uploadId), ConsistentRead: true }),
  );
  return Item;
}

const keyFor = (uploadId: string, clientMessageId: string) =>
  `attachments/conv-1/ada/${clientMessageId}/${uploadId}`;

describe('upload claims', () => {
  it('hold an upload for one clientMessageId: again for it, never for another', async () => {
    // GIVEN ada's upload
    const upload = await requested('ada', 'photo');
    const first = claimOf('ada', 'm-1');

    // WHEN m-1 claims it, twice (a retried send)
    const claim = [{ uploadId: upload.uploadId, attachmentKey: keyFor(upload.uploadId, 'm-1') }];
    expect(await claimUploads(first, claim)).toEqual({ claimed: true });
    expect(await claimUploads(first, claim)).toEqual({ claimed: true });

    // THEN m-2 is refused, told who holds it
    expect(
      await claimUploads(claimOf('ada', 'm-2'), [
        { uploadId: upload.uploadId, attachmentKey: keyFor(upload.uploadId, 'm-2') },
      ]),
    ).toEqual({ claimed: false, uploadId: upload.uploadId, holder: first });
    // AND the item names m-1 and its copy, and no longer expires
    const item = await itemOf(upload.uploadId);
    expect(item).toMatchObject({ claimedBy: first, attachmentKey: keyFor(upload.uploadId, 'm-1') });
    expect(item).not.toHaveProperty('expiresAt');
    expect((await readUploads([upload.uploadId])).get(upload.uploadId)).toEqual({
      ...upload,
      claimedBy: first,
      attachmentKey: keyFor(upload.uploadId, 'm-1'),
    });
    // AND a requestUpload of it again leaves it as it is
    expect(await putUpload({ ...upload, size: 5, requestedAt: new Date().toISOString() }, NOW, QUOTA)).toBe(
      'attached',
    );
    expect(await itemOf(upload.uploadId)).toEqual(item);
  });

  it('never creates the item of an upload that is gone', async () => {
    const uploadId = uploadIdFor('ada', `gone-${Math.random()}`);
    expect(
      await claimUploads(claimOf('ada', 'm-1'), [{ uploadId, attachmentKey: keyFor(uploadId, 'm-1') }]),
    ).toEqual({ claimed: false, uploadId, holder: undefined });
    expect(await itemOf(uploadId)).toBeUndefined();
  });

  it('claims several uploads all or none', async () => {
    // GIVEN two free uploads and one m-0 holds
    const [free, other, held] = await Promise.all([
      requested('ada', 'a'),
      requested('ada', 'b'),
      requested('ada', 'c'),
    ]);
    const claim = (clientMessageId: string, ...uploads: UploadRecord[]) =>
      claimUploads(
        claimOf('ada', clientMessageId),
        uploads.map((upload) => ({
          uploadId: upload.uploadId,
          attachmentKey: keyFor(upload.uploadId, clientMessageId),
        })),
      );
    expect(await claim('m-0', held)).toEqual({ claimed: true });

    // WHEN m-1 claims a free one with the held one: refused, and the free one stays free
    expect(await claim('m-1', free, held)).toEqual({
      claimed: false,
      uploadId: held.uploadId,
      holder: claimOf('ada', 'm-0'),
    });
    expect(await itemOf(free.uploadId)).not.toHaveProperty('claimedBy');

    // THEN m-2 claims both free ones at once
    expect(await claim('m-2', free, other)).toEqual({ claimed: true });
    expect((await itemOf(free.uploadId))?.claimedBy).toBe(claimOf('ada', 'm-2'));
    expect((await itemOf(other.uploadId))?.claimedBy).toBe(claimOf('ada', 'm-2'));
  });
});
