/**
 * Delivery of committed messages over WebSockets: who gets the frame, what a 410 or another failure
 * does to the batch, and the unread bookkeeping on the recipients' member items.
 */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/stream/delivery.ts';
import {
  bookkeepingUpdates,
  mockConversation,
  mockFailedAttempts,
  mockUsers,
  postedCalls,
  postedFrames,
  queuedFailures,
} from '../../support/delivery-mocks.ts';
import { deliveryModify, messageInsert, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const ORIGIN = 'CfQ3bfF3DoECJqQ=';
const ALICE_TABLET = 'CfQ3cAb1DoECJwA=';
const BOB_PHONE = 'CfQ3dXy2DoECKbQ=';
const BOB_LAPTOP = 'CfQ3eKp4DoECLcA=';
const BOB_DEVICE = {
  deviceId: 'iphone-bob',
  platform: 'apns',
  token: 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
  endpointArn: 'arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/3f1d2c4b-5a69-4e7f-8d0c-1b2a3c4d5e6f',
} as const;

const EXPECTED_FRAME = {
  type: 'message',
  conversationId: 'd_alice_bob',
  messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F',
  seq: 7,
  senderId: 'alice',
  content: 'Are we still on for lunch at noon? I booked the table by the window.',
  createdAt: '2026-11-23T10:30:05.123Z',
  clientMessageId: '6f1c2e0a-4b7d-4e59-9a38-2d5f8c1b7e90',
  // A new message's version follows from its seq (functions/domain/versions.ts).
  version: 7_000_000,
};

const memberAfterUpdate = (seq: number, readSeq = 5) => ({
  PK: 'CONV#d_alice_bob',
  SK: 'MEMBER#bob',
  type: 'member',
  conversationId: 'd_alice_bob',
  userId: 'bob',
  readSeq,
  lastSeq: seq,
  unreadOwner: 'bob',
  changedBy: 'delivery',
});

const conditionFailed = (item: Record<string, unknown> | undefined) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    Item: item === undefined ? undefined : marshall(item, { removeUndefinedValues: true }),
  });

describe('delivery of a committed message', () => {
  beforeEach(() => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob']);
    mockUsers(ddb, {
      alice: { connections: [ORIGIN, ALICE_TABLET] },
      bob: { connections: [BOB_PHONE, BOB_LAPTOP], devices: [BOB_DEVICE] },
    });
    ddb.on(UpdateCommand).resolves({ Attributes: memberAfterUpdate(7) });
    ddb.on(DeleteCommand).resolves({});
    api.on(PostToConnectionCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
    api.reset();
    sns.reset();
  });

  it('posts the message frame to every connection of every member except the sending one', async () => {
    // WHEN
    const result = await handler(streamEvent(messageInsert()));

    // THEN the sender's other device and both of bob's connections get exactly the protocol's fields
    expect(result).toEqual({ batchItemFailures: [] });
    const frames = postedFrames(api, 'message');
    expect([...frames.keys()].sort()).toEqual([ALICE_TABLET, BOB_PHONE, BOB_LAPTOP].sort());
    for (const frame of frames.values()) expect(frame).toEqual(EXPECTED_FRAME);
    expect(postedCalls(api, 'message')).toHaveLength(3);
  });

  it('tells every connection of the sender, the sending one too, that bob got it: one delivered', async () => {
    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    const delivered = postedCalls(api, 'delivered');
    expect(delivered.map(({ connectionId }) => connectionId).sort()).toEqual([ORIGIN, ALICE_TABLET].sort());
    for (const { frame } of delivered) {
      expect(frame).toEqual({
        type: 'delivered',
        conversationId: 'd_alice_bob',
        userId: 'bob',
        seq: 7,
        deliveredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
    }
  });

  it('sends one delivered per recipient for a burst, with the highest seq', async () => {
    const burst = [7, 8, 9].map((seq) =>
      messageInsert(
        { seq, messageId: `01JDB4V00000000000000000${seq}0` },
        `44215845000000000174504391${seq}0`,
      ),
    );

    await handler(streamEvent(...burst));

    const delivered = postedCalls(api, 'delivered');
    expect(delivered).toHaveLength(2);
    expect(delivered.map(({ frame }) => frame.seq)).toEqual([9, 9]);
  });

  it('sends no delivered for a recipient no connection of whom took the message', async () => {
    mockUsers(ddb, { bob: { connections: [], devices: [BOB_DEVICE] } });

    await handler(streamEvent(messageInsert()));

    expect(postedCalls(api, 'delivered')).toEqual([]);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression:
        'SET lastSeq = :seq, activityAt = :activityAt, unreadOwner = :userId, changedBy = :delivery',
    });
  });

  it('reads the conversation once and each member partition once, and never scans', async () => {
    await handler(streamEvent(messageInsert()));

    expect(ddb).toHaveReceivedCommandExactlyOnceWith(GetCommand, {
      TableName: 'parley-test',
      Key: { PK: 'CONV#d_alice_bob', SK: 'META' },
    });
    // Each member partition, and the two member items (who hid the direct conversation), strongly consistent.
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 3);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      ExpressionAttributeValues: { ':pk': 'CONV#d_alice_bob', ':member': 'MEMBER#' },
      ConsistentRead: true,
    });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      ExpressionAttributeValues: { ':pk': 'USER#alice' },
    });
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, { ExpressionAttributeValues: { ':pk': 'USER#bob' } });
  });

  it("moves the sender's read cursor to the message (sending reads), with no read frame", async () => {
    await handler(streamEvent(messageInsert()));

    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'parley-test',
      Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#alice' },
      UpdateExpression: 'SET readSeq = :seq, readAt = :readAt, changedBy = :by REMOVE unreadOwner',
      ConditionExpression: 'attribute_exists(PK) AND readSeq < :seq AND lastSeq <= :seq',
      ExpressionAttributeValues: { ':seq': 7, ':readAt': '2026-11-23T10:30:05.123Z', ':by': 'implicit-read' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('records the delivery on the recipient member item only, conditionally, for replays and read-ahead', async () => {
    await handler(streamEvent(messageInsert()));

    expect(bookkeepingUpdates(ddb)).toHaveLength(1);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'parley-test',
      Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#bob' },
      // bob's connection took the frame: the same write moves his delivered cursor.
      UpdateExpression:
        'SET lastSeq = :seq, activityAt = :activityAt, unreadOwner = :userId, changedBy = :delivery, deliveredSeq = :seq',
      ConditionExpression: 'attribute_exists(PK) AND lastSeq < :seq AND readSeq < :seq',
      // The message's time moves the conversation up in bob's list (the `inbox` index).
      ExpressionAttributeValues: {
        ':seq': 7,
        ':activityAt': EXPECTED_FRAME.createdAt,
        ':userId': 'bob',
        ':delivery': 'delivery',
      },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('treats a replayed record (lastSeq already there) as done and delivers it again', async () => {
    // GIVEN the record was processed before: the member item already has lastSeq 7
    ddb.on(UpdateCommand).rejects(conditionFailed(memberAfterUpdate(7)));

    // WHEN
    const result = await handler(streamEvent(messageInsert()));

    // THEN no failure, the frame goes out again (at-least-once), and only the delivered cursor may
    // still move (forward only)
    expect(result).toEqual({ batchItemFailures: [] });
    expect(bookkeepingUpdates(ddb)).toHaveLength(2);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression: 'SET deliveredSeq = :seq, changedBy = :delivery',
      ConditionExpression:
        'attribute_exists(PK) AND (attribute_not_exists(deliveredSeq) OR deliveredSeq < :seq)',
    });
    expect(postedCalls(api, 'message')).toHaveLength(3);
  });

  it('moves only lastSeq when the recipient already read past the message, and sends no push', async () => {
    // GIVEN bob is offline and read up to 7 on another device (after a sync) before this delivery ran
    mockUsers(ddb, { bob: { devices: [BOB_DEVICE] } });
    const readAhead = { ...memberAfterUpdate(6, 7), unreadOwner: undefined };
    ddb
      .on(UpdateCommand, {
        ConditionExpression: 'attribute_exists(PK) AND lastSeq < :seq AND readSeq < :seq',
      })
      .rejects(conditionFailed(readAhead));
    ddb
      .on(UpdateCommand, { ConditionExpression: 'attribute_exists(PK) AND lastSeq < :seq' })
      .resolves({ Attributes: { ...readAhead, lastSeq: 7 } });

    // WHEN
    const result = await handler(streamEvent(messageInsert()));

    // THEN unreadOwner is not set again, and bob gets no push for what he has read
    expect(result).toEqual({ batchItemFailures: [] });
    expect(bookkeepingUpdates(ddb)).toHaveLength(2);
    expect(ddb).toHaveReceivedNthCommandWith(UpdateCommand, 2, {
      TableName: 'parley-test',
      Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#bob' },
      UpdateExpression: 'SET lastSeq = :seq, activityAt = :activityAt, changedBy = :delivery',
      ConditionExpression: 'attribute_exists(PK) AND lastSeq < :seq',
      ExpressionAttributeValues: {
        ':seq': 7,
        ':activityAt': EXPECTED_FRAME.createdAt,
        ':delivery': 'delivery',
      },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('does not fail when the member item is missing (nothing to count unread on)', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed(undefined));

    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(bookkeepingUpdates(ddb)).toHaveLength(1);
  });

  it('deletes exactly the connection that answered 410 and still delivers to the others', async () => {
    // GIVEN bob's laptop closed without $disconnect
    api
      .on(PostToConnectionCommand, { ConnectionId: BOB_LAPTOP })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    // WHEN
    const result = await handler(streamEvent(messageInsert()));

    // THEN
    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandTimes(DeleteCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'parley-test',
      Key: { PK: 'USER#bob', SK: `CONN#${BOB_LAPTOP}` },
    });
    expect(api).toHaveReceivedCommandWith(PostToConnectionCommand, { ConnectionId: BOB_PHONE });
    expect(api).toHaveReceivedCommandWith(PostToConnectionCommand, { ConnectionId: ALICE_TABLET });
    // bob is still online on his phone: no push
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('reports the first failing record by sequence number and leaves the records after it alone', async () => {
    // GIVEN three messages in one batch; posting seq 8 is throttled by API Gateway
    const first = messageInsert({ seq: 7 }, '4421584500000000017450439091');
    const failing = messageInsert(
      { seq: 8, messageId: '01JDB4V0000000000000000008' },
      '4421584500000000017450439200',
    );
    const later = messageInsert(
      { seq: 9, messageId: '01JDB4V0000000000000000009' },
      '4421584500000000017450439300',
    );
    api.on(PostToConnectionCommand).callsFake((input: { Data: Uint8Array }) => {
      const frame = JSON.parse(new TextDecoder().decode(input.Data)) as { seq: number };
      if (frame.seq === 8) {
        throw new LimitExceededException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
      }
      return {};
    });
    mockFailedAttempts(ddb, 1);

    // WHEN
    const result = await handler(streamEvent(first, failing, later));

    // THEN Lambda retries from seq 8; seq 9 was not delivered (it would be delivered twice otherwise)
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '4421584500000000017450439200' }] });
    const seqsPosted = postedCalls(api, 'message').map(({ frame }) => frame.seq);
    expect(seqsPosted).not.toContain(9);
    expect(seqsPosted.filter((seq) => seq === 7)).toHaveLength(3);
    expect(ddb).not.toHaveReceivedCommandWith(UpdateCommand, { ExpressionAttributeValues: { ':seq': 9 } });
  });

  it('reads the conversation again, strongly consistent, when it is not visible yet', async () => {
    // GIVEN the eventually consistent read misses the conversation created a moment ago
    ddb.on(GetCommand, { ConsistentRead: undefined }).resolves({});

    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { ConsistentRead: true });
    expect(postedCalls(api, 'message')).toHaveLength(3);
  });

  it('records a message whose conversation is gone as a permanent failure, and does not retry it', async () => {
    ddb.on(GetCommand).resolves({});

    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(api).not.toHaveReceivedCommand(PostToConnectionCommand);
    expect(queuedFailures(sns)).toEqual([
      expect.objectContaining({
        class: 'permanent',
        kind: 'message',
        conversationId: 'd_alice_bob',
        seq: 7,
        messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F',
        recipients: [],
        failures: [{ class: 'permanent', error: 'PermanentFailure' }],
      }),
    ]);
  });

  it('retries the record when the unread bookkeeping write is throttled', async () => {
    ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#bob' } }).rejects(
      Object.assign(new Error('Throughput exceeds the current capacity'), {
        name: 'ProvisionedThroughputExceededException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    mockFailedAttempts(ddb, 2);

    const result = await handler(streamEvent(messageInsert()));

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '4421584500000000017450439091' }] });
    expect(queuedFailures(sns)).toEqual([]);
  });

  it('skips records the stream filter should have excluded, and goes on with the batch', async () => {
    // GIVEN the delivery Lambda's own bookkeeping (changedBy delivery) and a message after it
    const result = await handler(streamEvent(deliveryModify(), messageInsert()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
    expect(postedCalls(api, 'message')).toHaveLength(3);
  });

  it('skips a message item without the fields of the frame rather than blocking the shard', async () => {
    const broken = messageInsert();
    delete broken.dynamodb?.NewImage?.content;

    const result = await handler(streamEvent(broken));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(ddb).not.toHaveReceivedAnyCommand();
  });
});
