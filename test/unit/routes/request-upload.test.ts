/**
 * requestUpload: a presigned PUT for one file, with its type and size signed, recorded as the caller's
 * upload (the item sendMessage checks), within the caller's rate limit and daily upload quota (1 GiB by
 * default). The presigner computes locally; DynamoDB is mocked.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { uploadIdFor } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/request-upload.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  conditionFailed,
  ddb,
  expectNothingWritten,
  frameOf,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-11-23T10:30:05.200Z');
const CRID = 'photo-1';
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const UPLOAD_ID = uploadIdFor('alice', CRID);
const UPLOAD_KEY = { PK: `UPLOAD#${UPLOAD_ID}`, SK: 'UPLOAD' };
const QUOTA_KEY = { PK: 'RATE#alice', SK: 'UPLOAD_BYTES#2026-11-23' };
/** 2026-11-24T00:00:00Z, when NOW's day ends and its quota starts again. */
const MIDNIGHT = Date.UTC(2026, 10, 24);

/** The day's count grows by `bytes` if it stays within the quota (a negative `bytes` gives them back). */
const quotaUpdate = (bytes: number): [string, unknown] => [
  'UpdateCommand',
  {
    TableName: TABLE,
    Key: QUOTA_KEY,
    UpdateExpression: 'SET #type = :type, #ttl = :expiresAt ADD #bytes :delta',
    ...(bytes > 0 && { ConditionExpression: 'attribute_not_exists(#bytes) OR #bytes <= :room' }),
    ExpressionAttributeNames: { '#type': 'type', '#ttl': 'expiresAt', '#bytes': 'bytes' },
    ExpressionAttributeValues: {
      ':type': 'uploadQuota',
      ':expiresAt': MIDNIGHT / 1000,
      ':delta': bytes,
      ...(bytes > 0 && { ':room': GiB - bytes }),
    },
  },
];

const uploadItem = (fields: Record<string, unknown> = {}) => ({
  ...UPLOAD_KEY,
  type: 'upload',
  uploadId: UPLOAD_ID,
  ownerId: 'alice',
  key: `uploads/alice/${UPLOAD_ID}`,
  contentType: 'image/jpeg',
  size: 1234,
  requestedAt: NOW.toISOString(),
  quotaDay: '2026-11-23',
  quotaBytes: 1234,
  expiresAt: Math.floor(NOW.getTime() / 1000) + 86_400,
  ...fields,
});

/** The put of the upload item, conditional on what the request assumed of it. */
const uploadPut = (
  item: Record<string, unknown>,
  condition: Record<string, unknown> = { ConditionExpression: 'attribute_not_exists(PK)' },
): [string, unknown] => [
  'PutCommand',
  { TableName: TABLE, Item: item, ...condition, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' },
];

const request = (fields: Record<string, unknown>) =>
  messageEvent({
    action: 'requestUpload',
    clientRequestId: CRID,
    contentType: 'image/jpeg',
    size: 1234,
    ...fields,
  });

describe('requestUpload', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    ddb.on(PutCommand).resolves({});
    // The rate bucket and the day's count take the request.
    ddb.on(UpdateCommand).resolves({});
  });
  afterEach(() => {
    vi.useRealTimers();
    ddb.reset();
  });

  it('answers a presigned PUT with Content-Type and Content-Length signed, valid for 5 minutes', async () => {
    // WHEN
    const frame = frameOf(await handler(request({}), lambdaContext));

    // THEN
    const uploadId = uploadIdFor('alice', CRID);
    expect(frame).toEqual({
      type: 'upload',
      clientRequestId: CRID,
      uploadId,
      url: expect.any(String),
      method: 'PUT',
      headers: { 'Content-Type': 'image/jpeg', 'Content-Length': '1234' },
      expiresAt: '2026-11-23T10:35:05.000Z',
    });
    const url = new URL(String(frame.url));
    expect(url.origin).toBe('https://parley-attachments-test.s3.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe(`/uploads/alice/${uploadId}`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'test/20261123/eu-west-1/s3/aws4_request',
      'X-Amz-Date': '20261123T103005Z',
      'X-Amz-Expires': '300',
      'X-Amz-SignedHeaders': 'content-length;content-type;host',
      'X-Amz-Signature': expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('asks the rate bucket, counts the bytes in the day’s quota, then records the upload as the caller’s with a one-day TTL', async () => {
    // WHEN
    await handler(request({ contentType: 'application/pdf', size: 25 * MiB }), lambdaContext);

    // THEN
    expect(sentToDynamo()).toEqual([
      rateBucketUpdate('alice', 'requestUpload'),
      quotaUpdate(25 * MiB),
      uploadPut(uploadItem({ contentType: 'application/pdf', size: 25 * MiB, quotaBytes: 25 * MiB })),
    ]);
  });

  it('refuses to reopen an upload a message holds as bad_request (an upload belongs to one message), giving its bytes back', async () => {
    // GIVEN the upload of this clientRequestId is attached to a message (its item carries the claim)
    ddb.on(PutCommand).rejects(
      conditionFailed(
        marshall(uploadItem({ claimedBy: 'alice#m-1', expiresAt: undefined }), {
          removeUndefinedValues: true,
        }),
      ),
    );

    // WHEN it is asked for again
    const frame = frameOf(await handler(request({}), lambdaContext));

    // THEN no new URL: the claimed item stays as it is, and the day's count is as before
    expect(frame).toMatchObject({
      type: 'error',
      code: 'bad_request',
      action: 'requestUpload',
      clientRequestId: CRID,
    });
    expect(frame.message).toContain('already attached to a message');
    expect(sentToDynamo()).toEqual([
      rateBucketUpdate('alice', 'requestUpload'),
      quotaUpdate(1234),
      uploadPut(uploadItem()),
      quotaUpdate(-1234),
    ]);
  });

  it('names the same upload when retried with the same clientRequestId, another for another user', async () => {
    const first = frameOf(await handler(request({}), lambdaContext));
    const again = frameOf(await handler(request({}), lambdaContext));
    const bobs = frameOf(
      await handler(
        messageEvent({ ...JSON.parse(request({}).body ?? '{}') }, { userId: 'bob' }),
        lambdaContext,
      ),
    );
    expect(again.uploadId).toBe(first.uploadId);
    expect(bobs.uploadId).not.toBe(first.uploadId);
  });

  it('refuses 26 MiB as too_large, storing nothing', async () => {
    const frame = frameOf(await handler(request({ size: 26 * MiB }), lambdaContext));
    expect(frame).toMatchObject({
      type: 'error',
      code: 'too_large',
      action: 'requestUpload',
      clientRequestId: CRID,
    });
    expectNothingWritten();
  });

  it.each([
    ['an unsupported type', { contentType: 'image/svg+xml' }],
    ['a size of 0', { size: 0 }],
    ['a fractional size', { size: 1.5 }],
    ['a bad clientRequestId', { clientRequestId: 'has spaces' }],
  ])('refuses %s as bad_request, storing nothing', async (_case, fields) => {
    const frame = frameOf(await handler(request(fields), lambdaContext));
    expect(frame).toMatchObject({ type: 'error', code: 'bad_request', action: 'requestUpload' });
    expectNothingWritten();
  });

  describe('the daily upload quota', () => {
    it('is refused with rate_limited until the next UTC midnight when the day’s bytes would pass it, storing nothing', async () => {
      // GIVEN the day's count has no room for 1234 bytes more, and no upload of this clientRequestId exists
      ddb.on(UpdateCommand, { Key: QUOTA_KEY }).rejects(conditionFailed());
      ddb.on(UpdateCommand, { Key: UPLOAD_KEY }).rejects(conditionFailed());

      // WHEN
      const frame = frameOf(await handler(request({}), lambdaContext));

      // THEN
      const retryAfterMs = MIDNIGHT - NOW.getTime();
      expect(frame).toEqual({
        type: 'error',
        code: 'rate_limited',
        message: `size: over the daily upload quota (${GiB} bytes a UTC day); retry after ${retryAfterMs} ms`,
        action: 'requestUpload',
        clientRequestId: CRID,
        retryAfterMs,
      });
      // Only a retry whose bytes the day already counts may pass: the condition found none.
      expect(sentToDynamo().slice(2)).toEqual([
        [
          'UpdateCommand',
          expect.objectContaining({
            Key: UPLOAD_KEY,
            ConditionExpression:
              'attribute_exists(PK) AND attribute_not_exists(claimedBy) AND quotaDay = :day AND quotaBytes >= :size',
          }),
        ],
      ]);
      expect(ddb).not.toHaveReceivedCommand(PutCommand);
    });

    it('answers a retry the day already counted even when the quota is full, counting nothing again', async () => {
      // GIVEN the day's count is full, and this clientRequestId's upload holds its 1234 bytes of today
      ddb.on(UpdateCommand, { Key: QUOTA_KEY }).rejects(conditionFailed());

      // WHEN
      const frame = frameOf(await handler(request({}), lambdaContext));

      // THEN a fresh URL, and the item's declaration was updated under the same quota fields
      expect(frame).toMatchObject({ type: 'upload', uploadId: UPLOAD_ID });
      const [, , probe] = sentToDynamo();
      expect(probe).toEqual([
        'UpdateCommand',
        expect.objectContaining({
          Key: UPLOAD_KEY,
          ExpressionAttributeValues: expect.objectContaining({ ':size': 1234, ':day': '2026-11-23' }),
        }),
      ]);
      expect(sentToDynamo()).toHaveLength(3);
    });

    it('counts only what a retry adds: the same size again adds nothing', async () => {
      // GIVEN the upload exists with its 1234 bytes counted today (the first answer was lost)
      ddb
        .on(PutCommand, { ConditionExpression: 'attribute_not_exists(PK)' })
        .rejects(conditionFailed(marshall(uploadItem())));

      // WHEN it is asked for again
      const frame = frameOf(await handler(request({}), lambdaContext));

      // THEN the bytes counted as for a new upload are given back, and the item is written again with
      // the same count, conditional on the count it holds
      expect(frame).toMatchObject({ type: 'upload', uploadId: UPLOAD_ID });
      expect(sentToDynamo().slice(1)).toEqual([
        quotaUpdate(1234),
        uploadPut(uploadItem()),
        quotaUpdate(-1234),
        uploadPut(uploadItem(), {
          ConditionExpression:
            'attribute_not_exists(claimedBy) AND quotaDay = :knownDay AND quotaBytes = :knownBytes',
          ExpressionAttributeValues: { ':knownDay': '2026-11-23', ':knownBytes': 1234 },
        }),
      ]);
    });

    it('counts the difference when a retry declares a larger size', async () => {
      ddb
        .on(PutCommand, { ConditionExpression: 'attribute_not_exists(PK)' })
        .rejects(conditionFailed(marshall(uploadItem())));

      await handler(request({ size: 5000 }), lambdaContext);

      expect(sentToDynamo().slice(3)).toEqual([
        quotaUpdate(-5000),
        quotaUpdate(5000 - 1234),
        uploadPut(uploadItem({ size: 5000, quotaBytes: 5000 }), {
          ConditionExpression:
            'attribute_not_exists(claimedBy) AND quotaDay = :knownDay AND quotaBytes = :knownBytes',
          ExpressionAttributeValues: { ':knownDay': '2026-11-23', ':knownBytes': 1234 },
        }),
      ]);
    });

    it('is not asked when the rate limit refuses the request first', async () => {
      // GIVEN alice's requestUpload bucket is full: its next request fits 2 s from now (30 a minute, 20 at once)
      ddb
        .on(UpdateCommand, { Key: { PK: 'RATE#alice', SK: 'requestUpload' } })
        .rejects(conditionFailed(marshall({ tat: NOW.getTime() + 20 * 2000 })));

      const frame = frameOf(await handler(request({}), lambdaContext));

      expect(frame).toMatchObject({ code: 'rate_limited', retryAfterMs: 2000, clientRequestId: CRID });
      expect(sentToDynamo()).toEqual([rateBucketUpdate('alice', 'requestUpload')]);
    });
  });
});
