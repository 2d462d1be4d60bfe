/**
 * The daily upload quota against DynamoDB Local (functions/adapters/upload-store.ts): the day's count
 * refuses exactly the request that would pass the quota, concurrent requests together never pass it,
 * a retried upload (same uploadId) is counted once, and a new UTC day starts from nothing. Then through
 * the requestUpload route with the quota configured at 25 MiB: the refusal is `rate_limited` with
 * `retryAfterMs` until the next UTC midnight, and stores nothing.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import {
  claimOf,
  claimUploads,
  putUpload,
  readUploads,
  type UploadRecord,
} from '../../functions/adapters/upload-store.ts';
import { uploadIdFor } from '../../functions/domain/identifiers.ts';
import { handler as requestUpload } from '../../functions/routes/request-upload.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';

// Read by requestUpload when it loads (integration-setup.ts sets it out of reach for the other files).
vi.hoisted(() => {
  process.env.UPLOAD_MIB_PER_DAY = '25';
});

const MiB = 1024 * 1024;
const NOW = new Date('2026-11-23T22:15:00.000Z');
const NEXT_DAY = new Date('2026-11-24T00:00:00.000Z');
const DAY = '2026-11-23';

const newUser = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

/** An upload of `ownerId`'s, named by its clientRequestId as requestUpload names it. */
const upload = (ownerId: string, clientRequestId: string, size: number): UploadRecord => {
  const uploadId = uploadIdFor(ownerId, clientRequestId);
  return {
    uploadId,
    ownerId,
    key: `uploads/${ownerId}/${uploadId}`,
    contentType: 'image/jpeg',
    size,
    requestedAt: NOW.toISOString(),
  };
};

/** The bytes the owner's count holds for `day` (strongly consistent); 0 when nothing was counted. */
async function counted(ownerId: string, day = DAY): Promise<number> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.uploadQuota(ownerId, day), ConsistentRead: true }),
  );
  return Number(Item?.bytes ?? 0);
}

describe('the daily upload quota', () => {
  it('refuses exactly the request that would pass the quota, for that user and that day only', async () => {
    const ann = newUser('ann');
    expect(await putUpload(upload(ann, 'a', 400), NOW, 1000)).toBe('stored');
    expect(await putUpload(upload(ann, 'b', 601), NOW, 1000)).toBe('overQuota');
    expect(await putUpload(upload(ann, 'c', 600), NOW, 1000)).toBe('stored');
    // Exactly at the quota: one byte more is refused.
    expect(await putUpload(upload(ann, 'd', 1), NOW, 1000)).toBe('overQuota');
    expect(await counted(ann)).toBe(1000);
    // A refused upload leaves no item.
    expect((await readUploads([upload(ann, 'b', 601).uploadId, upload(ann, 'd', 1).uploadId])).size).toBe(0);

    // Another user has a quota of their own; the next UTC day starts from nothing.
    expect(await putUpload(upload(newUser('ben'), 'a', 1000), NOW, 1000)).toBe('stored');
    expect(await putUpload(upload(ann, 'd', 1000), NEXT_DAY, 1000)).toBe('stored');
    expect(await counted(ann, '2026-11-24')).toBe(1000);
  });

  it('counts a retried upload once, and a larger size again only by what it adds', async () => {
    const cid = newUser('cid');
    expect(await putUpload(upload(cid, 'photo', 400), NOW, 1000)).toBe('stored');
    expect(await putUpload(upload(cid, 'photo', 400), NOW, 1000)).toBe('stored');
    expect(await counted(cid)).toBe(400);

    // A retry that declares more counts the difference; one that declares less gives nothing back.
    expect(await putUpload(upload(cid, 'photo', 700), NOW, 1000)).toBe('stored');
    expect(await counted(cid)).toBe(700);
    expect(await putUpload(upload(cid, 'photo', 100), NOW, 1000)).toBe('stored');
    expect(await counted(cid)).toBe(700);
    // The item holds the newest declaration.
    expect(
      (await readUploads([upload(cid, 'photo', 100).uploadId])).get(upload(cid, 'photo', 100).uploadId),
    ).toMatchObject({ size: 100 });
  });

  it('answers a retry the day already counted even when the quota is full, and refuses one that needs more', async () => {
    const dee = newUser('dee');
    expect(await putUpload(upload(dee, 'photo', 400), NOW, 1000)).toBe('stored');
    expect(await putUpload(upload(dee, 'other', 600), NOW, 1000)).toBe('stored');

    expect(await putUpload(upload(dee, 'photo', 400), NOW, 1000)).toBe('stored');
    expect(await putUpload(upload(dee, 'photo', 401), NOW, 1000)).toBe('overQuota');
    expect(await counted(dee)).toBe(1000);
  });

  it('answers attached for a retry of an upload a message holds, counting nothing', async () => {
    const eve = newUser('eve');
    const photo = upload(eve, 'photo', 400);
    expect(await putUpload(photo, NOW, 1000)).toBe('stored');
    const claim = { uploadId: photo.uploadId, attachmentKey: `attachments/c/${eve}/m-1/${photo.uploadId}` };
    expect(await claimUploads(claimOf(eve, 'm-1'), [claim])).toEqual({ claimed: true });

    expect(await putUpload(photo, NOW, 1000)).toBe('attached');
    expect(await putUpload({ ...photo, size: 900 }, NOW, 1000)).toBe('attached');
    expect(await counted(eve)).toBe(400);
  });

  it('never passes the quota under concurrent requests, refusing only what did not fit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 25 }),
        async (sizes) => {
          const owner = newUser('flo');
          const answers = await Promise.all(
            sizes.map((size, i) => putUpload(upload(owner, `f-${i}`, size), NOW, 1000)),
          );
          const stored = sizes.filter((_, i) => answers[i] === 'stored');
          const total = await counted(owner);
          expect(total).toBeLessThanOrEqual(1000);
          // Each stored upload is counted once, and nothing else is.
          expect(total).toBe(stored.reduce((sum, size) => sum + size, 0));
          // Without retries the count only grows: each refused one did not fit even at the end.
          for (const [i, answer] of answers.entries()) {
            if (answer === 'overQuota') expect(total + (sizes[i] ?? 0)).toBeGreaterThan(1000);
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('counts an upload once when its retries race its first request', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ size: fc.integer({ min: 1, max: 300 }), copies: fc.integer({ min: 1, max: 3 }) }),
          {
            minLength: 1,
            maxLength: 10,
          },
        ),
        async (requests) => {
          const owner = newUser('gus');
          const sent = requests.flatMap(({ size, copies }, i) =>
            Array.from({ length: copies }, () => upload(owner, `g-${i}`, size)),
          );
          await Promise.all(sent.map((record) => putUpload(record, NOW, 1000)));
          const items = await readUploads(requests.map((_, i) => upload(owner, `g-${i}`, 1).uploadId));
          const total = await counted(owner);
          expect(total).toBeLessThanOrEqual(1000);
          expect(total).toBe([...items.values()].reduce((sum, item) => sum + item.size, 0));
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('requestUpload with a quota of 25 MiB a day', () => {
  afterEach(() => vi.useRealTimers());

  const ask = async (userId: string, clientRequestId: string, size: number) => {
    const response = await requestUpload(
      messageEvent({ action: 'requestUpload', clientRequestId, contentType: 'video/mp4', size }, { userId }),
      lambdaContext,
    );
    return JSON.parse(response.body ?? 'null') as Record<string, unknown>;
  };

  it('refuses the request that would pass it with rate_limited until midnight UTC, and answers a retry of a counted one', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    const hal = newUser('hal');

    expect(await ask(hal, 'clip-1', 20 * MiB)).toMatchObject({ type: 'upload' });
    expect(await ask(hal, 'clip-2', 6 * MiB)).toEqual({
      type: 'error',
      code: 'rate_limited',
      message: `size: over the daily upload quota (${25 * MiB} bytes a UTC day); retry after 6300000 ms`,
      action: 'requestUpload',
      clientRequestId: 'clip-2',
      // 22:15 UTC: an hour and 45 minutes until the quota starts again.
      retryAfterMs: 105 * 60 * 1000,
    });
    expect((await readUploads([uploadIdFor(hal, 'clip-2')])).size).toBe(0);
    expect(await ask(hal, 'clip-3', 5 * MiB)).toMatchObject({ type: 'upload' });
    // The day is full, yet a retry of clip-1 (its answer lost) gets its URL again.
    expect(await ask(hal, 'clip-1', 20 * MiB)).toMatchObject({
      type: 'upload',
      uploadId: uploadIdFor(hal, 'clip-1'),
    });
    expect(await counted(hal)).toBe(25 * MiB);

    // At midnight the refused one fits.
    vi.setSystemTime(NEXT_DAY);
    expect(await ask(hal, 'clip-2', 6 * MiB)).toMatchObject({ type: 'upload' });
  });
});
