/**
 * Delivery of moved read cursors: in a direct conversation the other member's list entry first (how far
 * they were read: their ticks), then the `read` frame to every member's connections, the reader's too.
 */
import {
  ApiGatewayManagementApiClient,
  ForbiddenException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listBucketOf } from '../../../functions/adapters/list-entries.ts';
import { handler } from '../../../functions/stream/delivery.ts';
import {
  mockConversation,
  mockFailedAttempts,
  mockUsers,
  postedFrames,
  queuedFailures,
} from '../../support/delivery-mocks.ts';
import { deliveryModify, readModify, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const ALICE_PHONE = 'CfQ3bfF3DoECJqQ=';
const BOB_PHONE = 'CfQ3dXy2DoECKbQ=';
const BOB_LAPTOP = 'CfQ3eKp4DoECLcA=';
const CAROL_PHONE = 'CfQ3fRt5DoECMdQ=';

/** The list entry UpdateItems (member items; not the attempts counter), in order. */
const entryUpdates = () =>
  ddb
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => String(input.Key?.SK).startsWith('MEMBER#'));

/** alice's entry learns that bob read up to `seq`. */
const peerReadUpdate = (seq: number) => ({
  TableName: 'parley-test',
  Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#alice' },
  UpdateExpression:
    'SET peerReadSeq = :peerReadSeq, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt',
  ConditionExpression:
    'attribute_exists(PK) AND (attribute_not_exists(peerReadSeq) OR peerReadSeq < :peerReadSeq)',
  ExpressionAttributeValues: {
    ':peerReadSeq': seq,
    ':entryChangedBy': 'delivery',
    ':entryChangedAt': expect.any(String),
    ':entryListAt': expect.any(String),
  },
  ReturnValues: 'ALL_NEW',
  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
});

describe('delivery of a moved read cursor', () => {
  beforeEach(() => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob']);
    mockUsers(ddb, { alice: { connections: [ALICE_PHONE] }, bob: { connections: [BOB_PHONE, BOB_LAPTOP] } });
    ddb.on(UpdateCommand).resolves({ Attributes: {} });
    api.on(PostToConnectionCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
    api.reset();
    sns.reset();
  });

  it("posts the read frame to every connection of every member, the reader's own included", async () => {
    // WHEN bob's markRead moved his cursor from 5 to 7 (markRead answered nothing itself)
    const result = await handler(streamEvent(readModify()));

    // THEN
    expect(result).toEqual({ batchItemFailures: [] });
    const frames = postedFrames(api);
    expect([...frames.keys()].sort()).toEqual([ALICE_PHONE, BOB_PHONE, BOB_LAPTOP].sort());
    for (const frame of frames.values()) {
      expect(frame).toEqual({
        type: 'read',
        conversationId: 'd_alice_bob',
        userId: 'bob',
        seq: 7,
        readAt: '2026-11-23T10:30:12.456Z',
      });
    }
    // the conversation is read once for its kind and members; a read sends no push
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(sns).not.toHaveReceivedAnyCommand();
  });

  it("records the read in the other member's list entry of a direct conversation, before the frames", async () => {
    const since = new Date().toISOString();

    await handler(streamEvent(readModify()));

    // THEN alice's entry (not bob's: his own cursor is already stored) shows bob's read, and moves up
    const updates = entryUpdates();
    expect(updates).toEqual([peerReadUpdate(7)]);
    const changedAt = String(updates[0]?.ExpressionAttributeValues?.[':entryChangedAt']);
    expect(changedAt >= since && changedAt <= new Date().toISOString()).toBe(true);
    expect(updates[0]?.ExpressionAttributeValues?.[':entryListAt']).toBe(listBucketOf(changedAt));
    const [update] = ddb.commandCalls(UpdateCommand);
    const posts = api.commandCalls(PostToConnectionCommand);
    expect(posts).toHaveLength(3);
    for (const post of posts) expect(update?.calledBefore(post as never)).toBe(true);
  });

  it('writes no entry again for a replayed read the entry shows already, and posts the frames again', async () => {
    ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#alice' } }).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: { httpStatusCode: 400 },
        Item: marshall({ PK: 'CONV#d_alice_bob', SK: 'MEMBER#alice', peer: 'bob', peerReadSeq: 7 }),
      }),
    );

    const result = await handler(streamEvent(readModify()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(entryUpdates()).toEqual([peerReadUpdate(7)]);
    expect(postedFrames(api).size).toBe(3);
  });

  it('reaches every member of a group except deactivated ones, and writes no list entry', async () => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob', 'carol', 'dave'], 'group');
    mockUsers(ddb, {
      carol: { connections: [CAROL_PHONE] },
      dave: { connections: ['CfQ3gSu6DoECNeA='], deactivated: true },
    });

    await handler(streamEvent(readModify()));

    expect([...postedFrames(api).keys()].sort()).toEqual(
      [ALICE_PHONE, BOB_PHONE, BOB_LAPTOP, CAROL_PHONE].sort(),
    );
    // a group entry has no peer: a read shows only in the unread counts
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it("skips the delivery Lambda's own member updates", async () => {
    const result = await handler(streamEvent(deliveryModify()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(api).not.toHaveReceivedAnyCommand();
  });

  it('skips a read change whose cursor did not move forward', async () => {
    const result = await handler(streamEvent(readModify({ readSeq: 5 }, { readSeq: 5 })));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(api).not.toHaveReceivedAnyCommand();
  });

  it('delivers the first read of a member whose old image has no cursor yet', async () => {
    await handler(streamEvent(readModify({ readSeq: 1 }, { readSeq: undefined })));

    expect(postedFrames(api).get(BOB_PHONE)).toMatchObject({ type: 'read', seq: 1 });
    expect(entryUpdates()).toEqual([peerReadUpdate(1)]);
  });

  it('reports the record for a retry when a post fails for a transient reason (throttled)', async () => {
    api
      .on(PostToConnectionCommand, { ConnectionId: ALICE_PHONE })
      .rejects(new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }));
    mockFailedAttempts(ddb, 1);

    const result = await handler(streamEvent(readModify()));

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '4421584600000000017450440125' }] });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { PK: 'ATTEMPTS#eccbc87e4b5ce2fe28308fd9f2a7baf3', SK: 'ATTEMPTS' },
    });
    expect(queuedFailures(sns)).toEqual([]);
  });

  it('records a permanent post failure (403) in the on-failure queue instead of retrying', async () => {
    api
      .on(PostToConnectionCommand, { ConnectionId: ALICE_PHONE })
      .rejects(new ForbiddenException({ message: 'Forbidden', $metadata: { httpStatusCode: 403 } }));

    const result = await handler(streamEvent(readModify()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(queuedFailures(sns)).toEqual([
      expect.objectContaining({
        class: 'permanent',
        kind: 'read',
        conversationId: 'd_alice_bob',
        readerId: 'bob',
        seq: 7,
        recipients: ['alice'],
        failures: [
          {
            userId: 'alice',
            connectionId: ALICE_PHONE,
            class: 'permanent',
            error: 'ForbiddenException',
            status: 403,
          },
        ],
      }),
    ]);
  });
});
