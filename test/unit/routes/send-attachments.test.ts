/**
 * sendMessage with `attachments`: each upload must be the sender's (forbidden), exist in the bucket
 * (not_found) with exactly the declared type and size (bad_request); then it is copied under
 * `attachments/` and stored on the message. DynamoDB is mocked with aws-sdk-client-mock; the bucket's
 * HEAD and copy are presigned requests sent with fetch, which is stubbed and asserted on exactly.
 */
import { BatchGetCommand, GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { uploadIdFor } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/send-message.ts';
import { lambdaContext, messageEvent } from '../../support/ws-events.ts';
import {
  ddb,
  expectNothingWritten,
  frameOf,
  givenConversation,
  givenLastSeq,
  givenRateBucketsAdmit,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-11-23T10:30:05.200Z');
const GROUP = 'grp-lunch';
const BUCKET_URL = 'https://parley-attachments-test.s3.eu-west-1.amazonaws.com';
const ALICES = uploadIdFor('alice', 'photo-1');
const BOBS = uploadIdFor('bob', 'photo-1');

const uploadItem = (uploadId: string, ownerId: string, contentType = 'image/jpeg', size = 1234) => ({
  PK: `UPLOAD#${uploadId}`,
  SK: 'UPLOAD',
  type: 'upload',
  uploadId,
  ownerId,
  key: `uploads/${ownerId}/${uploadId}`,
  contentType,
  size,
  requestedAt: '2026-11-23T10:29:00.000Z',
});

const send = (fields: Record<string, unknown>) =>
  messageEvent({
    action: 'sendMessage',
    clientMessageId: 'm-1',
    conversationId: GROUP,
    content: '',
    ...fields,
  });

type Stored = { status: number; contentType?: string; size?: number } | undefined;
let fetchMock: MockInstance<typeof fetch>;

/** What the bucket holds under `uploads/`; a copy succeeds. */
function givenBucket(objects: Record<string, Stored>): void {
  fetchMock.mockImplementation(async (input, init) => {
    const url = new URL(String(input));
    if (init?.method === 'HEAD') {
      const object = objects[url.pathname.slice(1)];
      if (object === undefined) return new Response(null, { status: 404 });
      return new Response(null, {
        status: object.status,
        headers: {
          'content-type': object.contentType ?? '',
          'content-length': String(object.size ?? 0),
          etag: '"etag-1"',
        },
      });
    }
    return new Response('<CopyObjectResult><ETag>"etag-1"</ETag></CopyObjectResult>', { status: 200 });
  });
}

const fetched = () =>
  fetchMock.mock.calls.map(([input, init]) => {
    const url = new URL(String(input));
    return {
      method: init?.method,
      origin: url.origin,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: init?.headers,
    };
  });

describe('sendMessage with attachments', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    fetchMock = vi.spyOn(globalThis, 'fetch');
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(TransactWriteCommand).resolves({});
    givenRateBucketsAdmit();
    givenConversation(GROUP, ['alice', 'bob']);
    givenLastSeq(GROUP, 4);
    ddb
      .on(BatchGetCommand)
      .resolves({ Responses: { [TABLE]: [uploadItem(ALICES, 'alice'), uploadItem(BOBS, 'bob')] } });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    ddb.reset();
  });

  it('checks the upload with one HEAD, copies it under attachments/ and stores it, content may be empty', async () => {
    // GIVEN
    givenBucket({ [`uploads/alice/${ALICES}`]: { status: 200, contentType: 'image/jpeg', size: 1234 } });

    // WHEN
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: ALICES }] }), lambdaContext));

    // THEN
    expect(frame).toMatchObject({ type: 'ack', seq: 5, duplicate: false });
    expect(ddb).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: { [TABLE]: { Keys: [{ PK: `UPLOAD#${ALICES}`, SK: 'UPLOAD' }], ConsistentRead: true } },
    });
    expect(fetched()).toEqual([
      {
        method: 'HEAD',
        origin: BUCKET_URL,
        path: `/uploads/alice/${ALICES}`,
        query: expect.objectContaining({ 'X-Amz-SignedHeaders': 'host', 'X-Amz-Expires': '60' }),
        headers: undefined,
      },
      {
        method: 'PUT',
        origin: BUCKET_URL,
        path: `/attachments/${GROUP}/${ALICES}`,
        query: expect.objectContaining({
          'X-Amz-SignedHeaders': 'host;x-amz-copy-source;x-amz-copy-source-if-match',
        }),
        headers: {
          'x-amz-copy-source': `/parley-attachments-test/uploads/alice/${ALICES}`,
          'x-amz-copy-source-if-match': '"etag-1"',
        },
      },
    ]);
    const commit = ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input;
    expect(commit?.TransactItems?.[0]?.Put?.Item).toMatchObject({
      content: '',
      attachments: [
        {
          attachmentId: ALICES,
          key: `attachments/${GROUP}/${ALICES}`,
          contentType: 'image/jpeg',
          size: 1234,
        },
      ],
    });
  });

  it("refuses another user's upload as forbidden, before asking the bucket", async () => {
    givenBucket({ [`uploads/bob/${BOBS}`]: { status: 200, contentType: 'image/jpeg', size: 1234 } });
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: BOBS }] }), lambdaContext));
    expect(frame).toMatchObject({ type: 'error', code: 'forbidden', clientMessageId: 'm-1' });
    expect(fetchMock).not.toHaveBeenCalled();
    expectNothingWritten();
  });

  it('refuses an upload that was never requested as not_found', async () => {
    givenBucket({});
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: 'up_nothing' }] }), lambdaContext));
    expect(frame).toMatchObject({ type: 'error', code: 'not_found' });
    expect(fetchMock).not.toHaveBeenCalled();
    expectNothingWritten();
  });

  it('refuses an upload whose object is missing as not_found, after exactly that HEAD', async () => {
    givenBucket({});
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: ALICES }] }), lambdaContext));
    expect(frame).toMatchObject({ type: 'error', code: 'not_found' });
    expect(fetched()).toEqual([
      expect.objectContaining({ method: 'HEAD', path: `/uploads/alice/${ALICES}` }),
    ]);
    expectNothingWritten();
  });

  it.each([
    ['another type', { status: 200, contentType: 'image/png', size: 1234 }],
    ['another size', { status: 200, contentType: 'image/jpeg', size: 1235 }],
  ])('refuses an object of %s than declared as bad_request, copying nothing', async (_case, stored) => {
    givenBucket({ [`uploads/alice/${ALICES}`]: stored });
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: ALICES }] }), lambdaContext));
    expect(frame).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(fetched().map((call) => call.method)).toEqual(['HEAD']);
    expectNothingWritten();
  });

  it('refuses empty content without attachments, and more than 10 attachments as too_large', async () => {
    givenBucket({});
    expect(frameOf(await handler(send({}), lambdaContext))).toMatchObject({ code: 'bad_request' });
    const eleven = Array.from({ length: 11 }, (_, i) => ({ uploadId: `up_${i}` }));
    expect(frameOf(await handler(send({ attachments: eleven }), lambdaContext))).toMatchObject({
      code: 'too_large',
    });
    expectNothingWritten();
  });
});
