/**
 * sendMessage with `attachments`: each upload must be the sender's (forbidden), held by no other message
 * (bad_request), exist in the bucket (not_found) with exactly the declared type and size (bad_request);
 * then it is copied to the message's own key under `attachments/`, claimed for the message
 * (protocol.md 1.2: an upload belongs to one message) and stored on it. DynamoDB is mocked with
 * aws-sdk-client-mock; the bucket's HEAD and copy are presigned requests sent with fetch, which is
 * stubbed and asserted on exactly.
 */
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { uploadIdFor } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/send-message.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  CONDITION_FAILED,
  cancelled,
  conditionFailed,
  ddb,
  expectNothingWritten,
  frameOf,
  givenConversation,
  givenLastSeq,
  givenRateBucketsAdmit,
  NONE,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-11-23T10:30:05.200Z');
const GROUP = 'grp-lunch';
const BUCKET_URL = 'https://parley-attachments-test.s3.eu-west-1.amazonaws.com';
const ALICES = uploadIdFor('alice', 'photo-1');
const ALICES_SECOND = uploadIdFor('alice', 'photo-2');
const BOBS = uploadIdFor('bob', 'photo-1');
/** Where message m-1's copy of an upload lies: a key of its own. */
const keptFor = (uploadId: string, clientMessageId = 'm-1') =>
  `attachments/${GROUP}/alice/${clientMessageId}/${uploadId}`;

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

/** An upload item once message `claim` holds it, its copy at `attachmentKey` (TTL removed). */
const claimed = (item: ReturnType<typeof uploadItem>, claim: string, attachmentKey: string) => ({
  ...item,
  claimedBy: claim,
  attachmentKey,
});

/** What the consistent BatchGetItem of the upload items finds. */
function givenUploads(...items: Record<string, unknown>[]): void {
  ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE]: items } });
}

/** The writes that are not the sender's rate bucket, in order. */
const uploadWrites = () =>
  sentToDynamo().filter(
    ([name, input]) =>
      ['UpdateCommand', 'TransactWriteCommand', 'PutCommand'].includes(name) &&
      !String((input as { Key?: { PK?: string } }).Key?.PK ?? '').startsWith('RATE#'),
  );

/** The commit's puts: the send receipt, then the message (which alone carries the attachments). */
const puts = (type: 'sendReceipt' | 'message') =>
  ddb
    .commandCalls(PutCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.Item?.type === type);
const put = (type: 'sendReceipt' | 'message', seq: number, fields: Record<string, unknown> = {}) =>
  expect.objectContaining({ Item: expect.objectContaining({ type, seq, ...fields }) });

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
    ddb.on(PutCommand).resolves({});
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

  it('checks the upload with one HEAD, copies it to the message’s own key, claims it and stores it, content may be empty', async () => {
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
        path: `/${keptFor(ALICES)}`,
        query: expect.objectContaining({
          'X-Amz-SignedHeaders': 'host;x-amz-copy-source;x-amz-copy-source-if-match',
        }),
        headers: {
          'x-amz-copy-source': `/parley-attachments-test/uploads/alice/${ALICES}`,
          'x-amz-copy-source-if-match': '"etag-1"',
        },
      },
    ]);
    // AND the upload is claimed for (alice, m-1), with its copy and no TTL any more, before the commit
    // (the receipt put, then the message put)
    expect(uploadWrites()).toEqual([
      [
        'UpdateCommand',
        {
          TableName: TABLE,
          Key: { PK: `UPLOAD#${ALICES}`, SK: 'UPLOAD' },
          UpdateExpression: 'SET claimedBy = :claim, attachmentKey = :key REMOVE #ttl',
          ConditionExpression:
            'attribute_exists(PK) AND (attribute_not_exists(claimedBy) OR claimedBy = :claim)',
          ExpressionAttributeNames: { '#ttl': 'expiresAt' },
          ExpressionAttributeValues: { ':claim': 'alice#m-1', ':key': keptFor(ALICES) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      ],
      ['PutCommand', put('sendReceipt', 5)],
      ['PutCommand', put('message', 5)],
    ]);
    expect(puts('sendReceipt')[0]?.Item).not.toHaveProperty('attachments');
    expect(puts('message')[0]?.Item).toMatchObject({
      content: '',
      attachments: [
        {
          attachmentId: ALICES,
          key: keptFor(ALICES),
          contentType: 'image/jpeg',
          size: 1234,
        },
      ],
    });
  });

  it('refuses an upload another message holds as bad_request, before asking the bucket, after forbidden and not_found', async () => {
    // GIVEN alice's upload is already attached to her message m-0
    givenUploads(claimed(uploadItem(ALICES, 'alice'), 'alice#m-0', keptFor(ALICES, 'm-0')));
    givenBucket({ [`uploads/alice/${ALICES}`]: { status: 200, contentType: 'image/jpeg', size: 1234 } });

    // WHEN she attaches it to m-1
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: ALICES }] }), lambdaContext));

    // THEN
    expect(frame).toMatchObject({
      type: 'error',
      code: 'bad_request',
      clientMessageId: 'm-1',
      message: `attachments: upload ${ALICES} is already attached to another message`,
    });
    expect(fetchMock).not.toHaveBeenCalled();
    expectNothingWritten();

    // AND forbidden and not_found still come first
    givenUploads(
      claimed(uploadItem(ALICES, 'alice'), 'alice#m-0', keptFor(ALICES, 'm-0')),
      uploadItem(BOBS, 'bob'),
    );
    const forbidden = frameOf(
      await handler(send({ attachments: [{ uploadId: ALICES }, { uploadId: BOBS }] }), lambdaContext),
    );
    const missing = frameOf(
      await handler(send({ attachments: [{ uploadId: ALICES }, { uploadId: 'up_nothing' }] }), lambdaContext),
    );
    expect(forbidden).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(missing).toMatchObject({ type: 'error', code: 'not_found' });
    expect(fetchMock).not.toHaveBeenCalled();
    expectNothingWritten();
  });

  it('refuses an upload another message claimed meanwhile as bad_request, committing nothing', async () => {
    // GIVEN the read saw the upload free, but m-0 claims it before m-1 does
    givenBucket({ [`uploads/alice/${ALICES}`]: { status: 200, contentType: 'image/jpeg', size: 1234 } });
    ddb
      .on(UpdateCommand, { Key: { PK: `UPLOAD#${ALICES}`, SK: 'UPLOAD' } })
      .rejects(
        conditionFailed(marshall(claimed(uploadItem(ALICES, 'alice'), 'alice#m-0', keptFor(ALICES, 'm-0')))),
      );

    // WHEN
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: ALICES }] }), lambdaContext));

    // THEN
    expect(frame).toMatchObject({
      type: 'error',
      code: 'bad_request',
      message: `attachments: upload ${ALICES} is already attached to another message`,
    });
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });

  it('answers not_found when the upload item expired between the read and the claim', async () => {
    givenBucket({ [`uploads/alice/${ALICES}`]: { status: 200, contentType: 'image/jpeg', size: 1234 } });
    ddb.on(UpdateCommand, { Key: { PK: `UPLOAD#${ALICES}`, SK: 'UPLOAD' } }).rejects(conditionFailed());
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: ALICES }] }), lambdaContext));
    expect(frame).toMatchObject({ type: 'error', code: 'not_found' });
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });

  it('passes a retry of the same clientMessageId with the copy its first attempt kept: no HEAD, no copy, no claim', async () => {
    // GIVEN m-1's first attempt copied and claimed the upload, then its commit failed
    givenUploads(claimed(uploadItem(ALICES, 'alice'), 'alice#m-1', keptFor(ALICES)));
    givenBucket({});

    // WHEN m-1 is sent again (a day later: the upload itself is gone from the bucket)
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: ALICES }] }), lambdaContext));

    // THEN it is committed with the kept copy
    expect(frame).toMatchObject({ type: 'ack', seq: 5, duplicate: false });
    expect(fetchMock).not.toHaveBeenCalled();
    expect(uploadWrites()).toEqual([
      ['PutCommand', put('sendReceipt', 5)],
      ['PutCommand', put('message', 5)],
    ]);
    expect(puts('message')[0]?.Item).toMatchObject({
      attachments: [{ attachmentId: ALICES, key: keptFor(ALICES), contentType: 'image/jpeg', size: 1234 }],
    });
  });

  it('answers a retry of a committed clientMessageId with its duplicate ack, no error', async () => {
    // GIVEN m-1 was committed as seq 3 with the upload
    givenUploads(claimed(uploadItem(ALICES, 'alice'), 'alice#m-1', keptFor(ALICES)));
    givenBucket({ [`uploads/alice/${ALICES}`]: { status: 200, contentType: 'image/jpeg', size: 1234 } });
    const receipt = {
      conversationId: GROUP,
      messageId: 'msg-first',
      senderId: 'alice',
      createdAt: '2026-11-23T10:30:00.000Z',
      clientMessageId: 'm-1',
      seq: 3,
    };
    ddb.on(PutCommand, { Item: { type: 'sendReceipt' } }).rejects(conditionFailed(marshall(receipt)));
    ddb.on(PutCommand, { Item: { type: 'message' } }).rejects(
      conditionFailed(
        marshall({
          PK: `CONV#${GROUP}`,
          SK: 'MSG#000000000003',
          type: 'message',
          conversationId: GROUP,
          messageId: 'msg-first',
          seq: 3,
        }),
      ),
    );

    // WHEN it is sent again
    const frame = frameOf(await handler(send({ attachments: [{ uploadId: ALICES }] }), lambdaContext));

    // THEN
    expect(frame).toEqual({
      type: 'ack',
      action: 'sendMessage',
      clientMessageId: 'm-1',
      conversationId: GROUP,
      messageId: 'msg-first',
      seq: 3,
      createdAt: '2026-11-23T10:30:00.000Z',
      duplicate: true,
    });
    expect(fetchMock).not.toHaveBeenCalled();
    // AND the message put at the receipt's seq found it: nothing else is written
    expect(uploadWrites()).toEqual([
      ['PutCommand', put('sendReceipt', 5)],
      ['PutCommand', put('message', 3, { SK: 'MSG#000000000003', messageId: 'msg-first' })],
    ]);
  });

  it('claims several uploads in one transaction, all or none', async () => {
    // GIVEN two of alice's uploads
    givenUploads(uploadItem(ALICES, 'alice'), uploadItem(ALICES_SECOND, 'alice', 'image/png', 99));
    givenBucket({
      [`uploads/alice/${ALICES}`]: { status: 200, contentType: 'image/jpeg', size: 1234 },
      [`uploads/alice/${ALICES_SECOND}`]: { status: 200, contentType: 'image/png', size: 99 },
    });

    // WHEN both are attached
    const frame = frameOf(
      await handler(
        send({ attachments: [{ uploadId: ALICES }, { uploadId: ALICES_SECOND }] }),
        lambdaContext,
      ),
    );

    // THEN one transaction claims both, then the message is committed
    expect(frame).toMatchObject({ type: 'ack', duplicate: false });
    expect(ddb).not.toHaveReceivedCommandWith(UpdateCommand, {
      Key: { PK: `UPLOAD#${ALICES}`, SK: 'UPLOAD' },
    });
    const [claim, ...others] = ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);
    expect(others).toEqual([]);
    expect(claim?.TransactItems).toEqual(
      [ALICES, ALICES_SECOND].map((uploadId) => ({
        Update: {
          TableName: TABLE,
          Key: { PK: `UPLOAD#${uploadId}`, SK: 'UPLOAD' },
          UpdateExpression: 'SET claimedBy = :claim, attachmentKey = :key REMOVE #ttl',
          ConditionExpression:
            'attribute_exists(PK) AND (attribute_not_exists(claimedBy) OR claimedBy = :claim)',
          ExpressionAttributeNames: { '#ttl': 'expiresAt' },
          ExpressionAttributeValues: { ':claim': 'alice#m-1', ':key': keptFor(uploadId) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      })),
    );
    expect(puts('message').map((input) => input.Item?.attachments)).toEqual([
      [
        { attachmentId: ALICES, key: keptFor(ALICES), contentType: 'image/jpeg', size: 1234 },
        { attachmentId: ALICES_SECOND, key: keptFor(ALICES_SECOND), contentType: 'image/png', size: 99 },
      ],
    ]);
  });

  it('refuses the whole send when one of several uploads was claimed by another message', async () => {
    givenUploads(uploadItem(ALICES, 'alice'), uploadItem(ALICES_SECOND, 'alice', 'image/png', 99));
    givenBucket({
      [`uploads/alice/${ALICES}`]: { status: 200, contentType: 'image/jpeg', size: 1234 },
      [`uploads/alice/${ALICES_SECOND}`]: { status: 200, contentType: 'image/png', size: 99 },
    });
    const holder = claimed(
      uploadItem(ALICES_SECOND, 'alice', 'image/png', 99),
      'alice#m-0',
      keptFor(ALICES_SECOND, 'm-0'),
    );
    ddb.on(TransactWriteCommand).rejects(cancelled(NONE, { ...CONDITION_FAILED, Item: marshall(holder) }));

    const frame = frameOf(
      await handler(
        send({ attachments: [{ uploadId: ALICES }, { uploadId: ALICES_SECOND }] }),
        lambdaContext,
      ),
    );

    expect(frame).toMatchObject({
      type: 'error',
      code: 'bad_request',
      message: `attachments: upload ${ALICES_SECOND} is already attached to another message`,
    });
    // Only the claim was tried: no commit.
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
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
