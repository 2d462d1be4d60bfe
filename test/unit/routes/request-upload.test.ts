/**
 * requestUpload: a presigned PUT for one file, with its type and size signed, recorded as the caller's
 * upload (the item sendMessage checks). The presigner computes locally; DynamoDB is mocked.
 */
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { uploadIdFor } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/request-upload.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import { conditionFailed, ddb, expectNothingWritten, frameOf, TABLE } from './route-mocks.ts';

const NOW = new Date('2026-11-23T10:30:05.200Z');
const CRID = 'photo-1';
const MiB = 1024 * 1024;

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

  it('records the upload as the caller’s, with what was declared and a one-day TTL, unless a message holds it', async () => {
    // WHEN
    await handler(request({ contentType: 'application/pdf', size: 25 * MiB }), lambdaContext);

    // THEN
    const uploadId = uploadIdFor('alice', CRID);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: {
        PK: `UPLOAD#${uploadId}`,
        SK: 'UPLOAD',
        type: 'upload',
        uploadId,
        ownerId: 'alice',
        key: `uploads/alice/${uploadId}`,
        contentType: 'application/pdf',
        size: 25 * MiB,
        requestedAt: NOW.toISOString(),
        expiresAt: Math.floor(NOW.getTime() / 1000) + 86_400,
      },
      ConditionExpression: 'attribute_not_exists(claimedBy)',
    });
  });

  it('refuses to reopen an upload a message holds as bad_request (an upload belongs to one message)', async () => {
    // GIVEN the upload of this clientRequestId is attached to a message (its item carries the claim)
    ddb.on(PutCommand).rejects(conditionFailed());

    // WHEN it is asked for again
    const frame = frameOf(await handler(request({}), lambdaContext));

    // THEN no new URL: the claimed item stays as it is
    expect(frame).toMatchObject({
      type: 'error',
      code: 'bad_request',
      action: 'requestUpload',
      clientRequestId: CRID,
    });
    expect(frame.message).toContain('already attached to a message');
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
});
