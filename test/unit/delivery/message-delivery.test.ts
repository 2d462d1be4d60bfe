/**
 * Delivery of committed messages over WebSockets: who gets the frame, what a 410 or another failure
 * does to the batch, and the members' list entries (their member items): the recipients' unread
 * bookkeeping and last message, and the sender's read cursor.
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
import { listBucketOf } from '../../../functions/adapters/list-entries.ts';
import { handler } from '../../../functions/stream/delivery.ts';
import {
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

/** The message as the members' list entries keep it (`lastMessage`): its frame's fields, no origin. */
const LAST_MESSAGE = {
  conversationId: 'd_alice_bob',
  seq: 7,
  messageId: EXPECTED_FRAME.messageId,
  senderId: 'alice',
  content: EXPECTED_FRAME.content,
  createdAt: EXPECTED_FRAME.createdAt,
  clientMessageId: EXPECTED_FRAME.clientMessageId,
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
  lastMessage: { ...LAST_MESSAGE, seq },
  // (1.2) both have written in it (consent), so it shows alice's presence
  sent: true,
  peerSent: true,
  peerStatus: 'online',
  changedBy: 'delivery',
});

/** alice's entry once her message 7 was recorded on it (she read it by sending it, bob got it). */
const SENDER_AFTER_UPDATE = {
  PK: 'CONV#d_alice_bob',
  SK: 'MEMBER#alice',
  type: 'member',
  conversationId: 'd_alice_bob',
  userId: 'alice',
  readSeq: 7,
  lastSeq: 0,
  lastMessage: LAST_MESSAGE,
  peerDeliveredSeq: 7,
  // (1.2) both have written in it (consent), so it shows bob's presence
  sent: true,
  peerSent: true,
  peerStatus: 'online',
  changedBy: 'implicit-read',
};

const conditionFailed = (item: Record<string, unknown> | undefined) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    Item: item === undefined ? undefined : marshall(item, { removeUndefinedValues: true }),
  });

/** The UpdateItems of `userId`'s member item (their list entry), in order. */
const entryUpdates = (userId: string) =>
  ddb
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.Key?.PK === 'CONV#d_alice_bob' && input.Key.SK === `MEMBER#${userId}`);

/** An update that moves the entry: `changedAt` is now, `listAt` its 10-minute bucket. */
function expectMovedNow(values: Record<string, unknown> | undefined, since: string): void {
  const changedAt = String(values?.[':entryChangedAt']);
  expect(changedAt >= since && changedAt <= new Date().toISOString()).toBe(true);
  expect(values?.[':entryListAt']).toBe(listBucketOf(changedAt));
}

/** What a recipient's entry is moved to, with the same placeholders every entry update uses. */
const MOVED_BY_DELIVERY = {
  ':entryChangedBy': 'delivery',
  ':entryChangedAt': expect.any(String),
  ':entryListAt': expect.any(String),
};

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

    // THEN bob's entry counts the message without moving his delivered cursor, and alice's entry
    // records no delivery to him (her ticks)
    expect(postedCalls(api, 'delivered')).toEqual([]);
    const [recipient, ...moreRecipient] = entryUpdates('bob');
    expect(moreRecipient).toEqual([]);
    expect(recipient?.UpdateExpression).toBe(
      'SET lastSeq = :lastSeq, unreadOwner = :unreadOwner, lastMessage = :lastMessage, peerSent = :peerSent, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt',
    );
    expect(recipient?.ExpressionAttributeValues).not.toHaveProperty(':deliveredSeq');
    const [sender, ...moreSender] = entryUpdates('alice');
    expect(moreSender).toEqual([]);
    expect(sender?.UpdateExpression).toBe(
      'SET readSeq = :readSeq, readAt = :readAt, lastMessage = :lastMessage, sent = :sent, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt REMOVE unreadOwner, pendingRequest',
    );
    expect(sender?.ExpressionAttributeValues).not.toHaveProperty(':peerDeliveredSeq');
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

  it("moves the sender's read cursor to the message (sending reads) in her entry, with no read frame", async () => {
    const since = new Date().toISOString();

    await handler(streamEvent(messageInsert()));

    // THEN one guarded update of alice's entry: read up to 7, out of the unread index unless others
    // wrote after it, 7 as her last message, bob's delivery of it (her ticks); it moves up her list
    const updates = entryUpdates('alice');
    expect(updates).toEqual([
      {
        TableName: 'parley-test',
        Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#alice' },
        UpdateExpression:
          'SET readSeq = :readSeq, readAt = :readAt, lastMessage = :lastMessage, peerDeliveredSeq = :peerDeliveredSeq, sent = :sent, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt REMOVE unreadOwner, pendingRequest',
        ConditionExpression:
          'attribute_exists(PK) AND (readSeq < :readSeq) AND (lastSeq <= :caughtUpSeq) AND (attribute_not_exists(lastMessage) OR lastMessage.#seq < :lastMessageSeq) AND (attribute_not_exists(peerDeliveredSeq) OR peerDeliveredSeq < :peerDeliveredSeq)',
        ExpressionAttributeValues: {
          ':readSeq': 7,
          ':readAt': '2026-11-23T10:30:05.123Z',
          ':caughtUpSeq': 7,
          ':lastMessage': LAST_MESSAGE,
          ':lastMessageSeq': 7,
          ':peerDeliveredSeq': 7,
          // (1.2) alice has written in it (consent)
          ':sent': true,
          // Not a read of hers: the stream filter keeps it from becoming a `read` frame.
          ':entryChangedBy': 'implicit-read',
          ':entryChangedAt': expect.any(String),
          ':entryListAt': expect.any(String),
        },
        ExpressionAttributeNames: { '#seq': 'seq' },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ]);
    expectMovedNow(updates[0]?.ExpressionAttributeValues, since);
    expect(postedCalls(api, 'read')).toEqual([]);
  });

  it("records no peerDeliveredSeq on the sender's entry in a group", async () => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob'], 'group');

    await handler(streamEvent(messageInsert()));

    // bob's connections took it, but a group entry has no peer whose ticks it shows
    expect(postedCalls(api, 'delivered')).toHaveLength(2);
    const [sender] = entryUpdates('alice');
    expect(sender?.UpdateExpression).toBe(
      'SET readSeq = :readSeq, readAt = :readAt, lastMessage = :lastMessage, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt REMOVE unreadOwner',
    );
    expect(entryUpdates('alice')).toHaveLength(1);
  });

  it("records the message in one guarded update of the recipient's entry, which moves up his list", async () => {
    const since = new Date().toISOString();

    await handler(streamEvent(messageInsert()));

    // THEN the member items written are bob's (the recipient) and alice's (the sender) only
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 2);
    const updates = entryUpdates('bob');
    expect(updates).toEqual([
      {
        TableName: 'parley-test',
        Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#bob' },
        // No delivered cursor on a direct conversation's recipient: alice's entry shows the delivery.
        UpdateExpression:
          'SET lastSeq = :lastSeq, unreadOwner = :unreadOwner, lastMessage = :lastMessage, peerSent = :peerSent, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt',
        // Each part forward-only, so that replays and late records move nothing backwards; unread
        // only when bob has not read this far already.
        ConditionExpression:
          'attribute_exists(PK) AND (attribute_not_exists(lastSeq) OR lastSeq < :lastSeq) AND (readSeq < :unreadSeq) AND (attribute_not_exists(lastMessage) OR lastMessage.#seq < :lastMessageSeq)',
        ExpressionAttributeValues: {
          ':lastSeq': 7,
          // (1.2) alice has written in it (consent)
          ':peerSent': true,
          ':unreadOwner': 'bob',
          ':unreadSeq': 7,
          ':lastMessage': LAST_MESSAGE,
          ':lastMessageSeq': 7,
          ...MOVED_BY_DELIVERY,
        },
        ExpressionAttributeNames: { '#seq': 'seq' },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ]);
    expect(updates[0]?.ExpressionAttributeValues).not.toHaveProperty(':deliveredSeq');
    // The entry moves to the delivery's time (its `listAt` bucket is the `inbox` index key).
    expectMovedNow(updates[0]?.ExpressionAttributeValues, since);
  });

  it("writes the recipient's entry before any frame goes out, so that his list shows the message", async () => {
    await handler(streamEvent(messageInsert()));

    const update = ddb
      .commandCalls(UpdateCommand)
      .find((call) => call.args[0].input.Key?.SK === 'MEMBER#bob');
    const sender = ddb
      .commandCalls(UpdateCommand)
      .find((call) => call.args[0].input.Key?.SK === 'MEMBER#alice');
    const messagePosts = api
      .commandCalls(PostToConnectionCommand)
      .filter(
        (call) =>
          JSON.parse(new TextDecoder().decode(call.args[0].input.Data as Uint8Array)).type === 'message',
      );
    expect(update).toBeDefined();
    expect(sender).toBeDefined();
    expect(messagePosts).toHaveLength(3);
    for (const post of messagePosts) {
      expect(update?.calledBefore(post as never)).toBe(true);
      // The sender's entry records whether bob was reached: after the posts.
      expect(post.calledBefore(sender as never)).toBe(true);
    }
  });

  it("records a group member's delivered cursor in a separate update once his connection took it", async () => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob'], 'group');

    await handler(streamEvent(messageInsert()));

    // THEN bob's entry: the message first (no delivered cursor), then deliveredSeq alone, forward
    // only, moving nothing (his own list does not show it); then alice's entry
    const calls = ddb
      .commandCalls(UpdateCommand)
      .filter((call) => call.args[0].input.Key?.PK === 'CONV#d_alice_bob');
    const updates = entryUpdates('bob');
    expect(updates).toHaveLength(2);
    expect(updates[0]?.UpdateExpression).toBe(
      'SET lastSeq = :lastSeq, unreadOwner = :unreadOwner, lastMessage = :lastMessage, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt',
    );
    expect(updates[0]?.ExpressionAttributeValues).not.toHaveProperty(':deliveredSeq');
    expect(updates[1]).toEqual({
      TableName: 'parley-test',
      Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#bob' },
      UpdateExpression: 'SET deliveredSeq = :deliveredSeq, changedBy = :entryChangedBy',
      ConditionExpression:
        'attribute_exists(PK) AND (attribute_not_exists(deliveredSeq) OR deliveredSeq < :deliveredSeq)',
      ExpressionAttributeValues: { ':deliveredSeq': 7, ':entryChangedBy': 'delivery' },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(calls.map((call) => call.args[0].input.Key?.SK)).toEqual([
      'MEMBER#bob',
      'MEMBER#bob',
      'MEMBER#alice',
    ]);
    const [recorded, reached] = calls;
    const messagePosts = api
      .commandCalls(PostToConnectionCommand)
      .filter(
        (call) =>
          JSON.parse(new TextDecoder().decode(call.args[0].input.Data as Uint8Array)).type === 'message',
      );
    expect(messagePosts).toHaveLength(3);
    for (const post of messagePosts) {
      expect(recorded?.calledBefore(post as never)).toBe(true);
      expect(post.calledBefore(reached as never)).toBe(true);
    }
  });

  it('records no delivered cursor for a group member none of whose connections took the message', async () => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob'], 'group');
    mockUsers(ddb, { bob: { connections: [], devices: [BOB_DEVICE] } });

    await handler(streamEvent(messageInsert()));

    const updates = entryUpdates('bob');
    expect(updates).toHaveLength(1);
    expect(updates[0]?.ExpressionAttributeValues).not.toHaveProperty(':deliveredSeq');
    expect(entryUpdates('alice')).toHaveLength(1);
  });

  it('treats a replayed record whose entry shows it all already as done, and delivers it again', async () => {
    // GIVEN the record was processed before: both entries already show message 7
    ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#bob' } }).rejects(conditionFailed(memberAfterUpdate(7)));
    ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#alice' } }).rejects(conditionFailed(SENDER_AFTER_UPDATE));

    // WHEN
    const result = await handler(streamEvent(messageInsert()));

    // THEN no failure, the frame goes out again (at-least-once), and nothing is written again: no
    // part still applies to either entry
    expect(result).toEqual({ batchItemFailures: [] });
    expect(entryUpdates('bob')).toHaveLength(1);
    expect(entryUpdates('alice')).toHaveLength(1);
    expect(postedCalls(api, 'message')).toHaveLength(3);
    // bob read up to 5 of 7: his connections took it, so no push either
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it("writes a group member's delivered cursor once only when a replay finds it recorded already", async () => {
    // GIVEN an earlier attempt recorded message 7 for bob and his delivery of it
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob'], 'group');
    ddb
      .on(UpdateCommand, { Key: { SK: 'MEMBER#bob' } })
      .rejects(conditionFailed({ ...memberAfterUpdate(7), deliveredSeq: 7 }));
    ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#alice' } }).resolves({ Attributes: SENDER_AFTER_UPDATE });

    // WHEN
    const result = await handler(streamEvent(messageInsert()));

    // THEN one attempt of each of bob's updates: no part still applies to either
    expect(result).toEqual({ batchItemFailures: [] });
    const updates = entryUpdates('bob');
    expect(updates).toHaveLength(2);
    expect(updates[1]?.UpdateExpression).toBe(
      'SET deliveredSeq = :deliveredSeq, changedBy = :entryChangedBy',
    );
    expect(postedCalls(api, 'message')).toHaveLength(3);
  });

  it('does not set unreadOwner when the recipient already read past the message, and sends no push', async () => {
    // GIVEN bob is offline and read up to 7 on another device (after a sync) before this delivery ran
    mockUsers(ddb, { bob: { devices: [BOB_DEVICE] } });
    const readAhead = {
      ...memberAfterUpdate(6, 7),
      unreadOwner: undefined,
      lastMessage: { ...LAST_MESSAGE, seq: 6, messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ5E' },
    };
    ddb
      .on(UpdateCommand, { Key: { SK: 'MEMBER#bob' } })
      .rejectsOnce(conditionFailed(readAhead))
      .resolves({ Attributes: { ...readAhead, lastSeq: 7, lastMessage: LAST_MESSAGE } });

    // WHEN
    const result = await handler(streamEvent(messageInsert()));

    // THEN the retry moves lastSeq and lastMessage (and the entry) without unreadOwner, and bob gets
    // no push for what he has read
    expect(result).toEqual({ batchItemFailures: [] });
    const updates = entryUpdates('bob');
    expect(updates).toHaveLength(2);
    expect(updates[0]?.ExpressionAttributeValues).toHaveProperty(':unreadOwner', 'bob');
    expect(updates[1]).toEqual({
      TableName: 'parley-test',
      Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#bob' },
      UpdateExpression:
        'SET lastSeq = :lastSeq, lastMessage = :lastMessage, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt',
      ConditionExpression:
        'attribute_exists(PK) AND (attribute_not_exists(lastSeq) OR lastSeq < :lastSeq) AND (attribute_not_exists(lastMessage) OR lastMessage.#seq < :lastMessageSeq)',
      ExpressionAttributeValues: {
        ':lastSeq': 7,
        ':lastMessage': LAST_MESSAGE,
        ':lastMessageSeq': 7,
        ...MOVED_BY_DELIVERY,
      },
      ExpressionAttributeNames: { '#seq': 'seq' },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('does not fail when the member item is missing (nothing to count unread on)', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed(undefined));

    const result = await handler(streamEvent(messageInsert()));

    // THEN one attempt per entry: no item, nothing to retry (a direct conversation is not repaired)
    expect(result).toEqual({ batchItemFailures: [] });
    expect(entryUpdates('bob')).toHaveLength(1);
    expect(entryUpdates('alice')).toHaveLength(1);
    expect(postedCalls(api, 'message')).toHaveLength(3);
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
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ExpressionAttributeValues: expect.objectContaining({ ':lastSeq': 7 }),
    });
    expect(ddb).not.toHaveReceivedCommandWith(UpdateCommand, {
      ExpressionAttributeValues: expect.objectContaining({ ':lastSeq': 9 }),
    });
    expect(ddb).not.toHaveReceivedCommandWith(UpdateCommand, {
      ExpressionAttributeValues: expect.objectContaining({ ':readSeq': 9 }),
    });
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
