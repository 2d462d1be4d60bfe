/**
 * Delivery of changed messages (a MODIFY of the message item): every member's list entry first (the
 * change's version, and its `lastMessage` when that is the changed message), then `messageUpdated`
 * with the message's whole current state to every connection of every member, the changer's own
 * included, no push; and within one batch, only the last change of each message is delivered.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listBucketOf } from '../../../functions/adapters/list-entries.ts';
import { handler } from '../../../functions/stream/delivery.ts';
import { mockConversation, mockUsers, postedCalls, postedFrames } from '../../support/delivery-mocks.ts';
import { messageModify, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const ALICE_PHONE = 'CfQ3bfF3DoECJqQ=';
const BOB_PHONE = 'CfQ3dXy2DoECKbQ=';
const BOB_LAPTOP = 'CfQ3eKp4DoECLcA=';

const UPDATE_BASE = {
  type: 'messageUpdated',
  conversationId: 'd_alice_bob',
  messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F',
  seq: 7,
  // The version the change stored on the item.
  version: 7_000_003,
};

/** alice's edit of message 7, as its MODIFY's new image has it. */
const EDIT = { content: 'Lunch at one instead?', editedAt: '2026-11-23T10:31:00.000Z', version: 7_000_003 };

/** Message 7 as the entries keep it (`lastMessage`) after the edit: no origin connection. */
const EDITED_LAST_MESSAGE = {
  conversationId: 'd_alice_bob',
  seq: 7,
  messageId: '01JDB4T4XKQ7M2W9R3N5P8HZ6F',
  senderId: 'alice',
  content: 'Lunch at one instead?',
  createdAt: '2026-11-23T10:30:05.123Z',
  clientMessageId: '6f1c2e0a-4b7d-4e59-9a38-2d5f8c1b7e90',
  editedAt: '2026-11-23T10:31:00.000Z',
  version: 7_000_003,
};

const MOVED_BY_DELIVERY = {
  ':entryChangedBy': 'delivery',
  ':entryChangedAt': expect.any(String),
  ':entryListAt': expect.any(String),
};

const conditionFailed = (item: Record<string, unknown>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: { httpStatusCode: 400 },
    Item: marshall(item, { removeUndefinedValues: true }),
  });

/** The UpdateItems of `userId`'s member item (their list entry), in order. */
const entryUpdates = (userId: string) =>
  ddb
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.Key?.PK === 'CONV#d_alice_bob' && input.Key.SK === `MEMBER#${userId}`);

/** The entry update with both parts: the version, and `lastMessage` if it is message 7. */
const fullEntryUpdate = (userId: string) => ({
  TableName: 'parley-test',
  Key: { PK: 'CONV#d_alice_bob', SK: `MEMBER#${userId}` },
  UpdateExpression:
    'SET changeVersion = :changeVersion, lastMessage = :changedMessage, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt',
  ConditionExpression:
    'attribute_exists(PK) AND (attribute_not_exists(changeVersion) OR changeVersion < :changeVersion) AND (lastMessage.#seq = :changedSeq AND (attribute_not_exists(lastMessage.#version) OR lastMessage.#version < :changedVersion))',
  ExpressionAttributeValues: {
    ':changeVersion': 7_000_003,
    ':changedMessage': EDITED_LAST_MESSAGE,
    ':changedSeq': 7,
    ':changedVersion': 7_000_003,
    ...MOVED_BY_DELIVERY,
  },
  ExpressionAttributeNames: { '#seq': 'seq', '#version': 'version' },
  ReturnValues: 'ALL_NEW',
  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
});

describe('delivery of a changed message', () => {
  beforeEach(() => {
    mockConversation(ddb, 'd_alice_bob', ['alice', 'bob']);
    mockUsers(ddb, {
      alice: { connections: [ALICE_PHONE] },
      bob: { connections: [BOB_PHONE, BOB_LAPTOP] },
    });
    ddb.on(UpdateCommand).resolves({ Attributes: {} });
    api.on(PostToConnectionCommand).resolves({});
  });

  afterEach(() => {
    ddb.reset();
    api.reset();
    sns.reset();
  });

  it("posts the edited message to every member's connections, the editor's own included, and pushes nothing", async () => {
    const result = await handler(streamEvent(messageModify(EDIT)));
    expect(result).toEqual({ batchItemFailures: [] });
    const frames = postedFrames(api);
    expect([...frames.keys()].sort()).toEqual([ALICE_PHONE, BOB_LAPTOP, BOB_PHONE].sort());
    for (const frame of frames.values()) {
      expect(frame).toEqual({
        ...UPDATE_BASE,
        content: 'Lunch at one instead?',
        editedAt: '2026-11-23T10:31:00.000Z',
        deleted: false,
        reactions: {},
      });
    }
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it("records the change in every member's list entry, before any frame goes out", async () => {
    const since = new Date().toISOString();

    await handler(streamEvent(messageModify(EDIT)));

    // THEN one guarded update per member: the version, the edited message if the entry shows it, and
    // the entry moves up (a client that reconnects reads the change from its list)
    expect(entryUpdates('alice')).toEqual([fullEntryUpdate('alice')]);
    expect(entryUpdates('bob')).toEqual([fullEntryUpdate('bob')]);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 2);
    for (const update of [...entryUpdates('alice'), ...entryUpdates('bob')]) {
      const changedAt = String(update.ExpressionAttributeValues?.[':entryChangedAt']);
      expect(changedAt >= since && changedAt <= new Date().toISOString()).toBe(true);
      expect(update.ExpressionAttributeValues?.[':entryListAt']).toBe(listBucketOf(changedAt));
    }
    const updates = ddb.commandCalls(UpdateCommand);
    const posts = api.commandCalls(PostToConnectionCommand);
    expect(posts).toHaveLength(3);
    for (const update of updates) {
      for (const post of posts) expect(update.calledBefore(post as never)).toBe(true);
    }
  });

  it('retries with the version only when the entry shows a newer message than the changed one', async () => {
    // GIVEN bob's entry shows message 9 (7 is no longer his last message)
    ddb
      .on(UpdateCommand, { Key: { SK: 'MEMBER#bob' } })
      .rejectsOnce(
        conditionFailed({
          PK: 'CONV#d_alice_bob',
          SK: 'MEMBER#bob',
          changeVersion: 6_000_001,
          lastMessage: { ...EDITED_LAST_MESSAGE, seq: 9, content: 'see you there', version: undefined },
        }),
      )
      .resolves({ Attributes: {} });

    const result = await handler(streamEvent(messageModify(EDIT)));

    // THEN his message 9 stays; the version moves (and the entry with it)
    expect(result).toEqual({ batchItemFailures: [] });
    expect(entryUpdates('bob')).toEqual([
      fullEntryUpdate('bob'),
      {
        TableName: 'parley-test',
        Key: { PK: 'CONV#d_alice_bob', SK: 'MEMBER#bob' },
        UpdateExpression:
          'SET changeVersion = :changeVersion, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt',
        ConditionExpression:
          'attribute_exists(PK) AND (attribute_not_exists(changeVersion) OR changeVersion < :changeVersion)',
        ExpressionAttributeValues: { ':changeVersion': 7_000_003, ...MOVED_BY_DELIVERY },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ]);
    expect(postedCalls(api, 'messageUpdated')).toHaveLength(3);
  });

  it('records only the version when the changed message was not the newest one when it changed', async () => {
    // GIVEN message 7 is edited after message 9 was sent: the edit's version is claimed in 9's slot
    const olderEdit = { ...EDIT, version: 9_000_001 };

    const result = await handler(streamEvent(messageModify(olderEdit)));

    // THEN each entry takes the version alone, in one attempt: no lastMessage part at all
    expect(result).toEqual({ batchItemFailures: [] });
    for (const userId of ['alice', 'bob']) {
      expect(entryUpdates(userId)).toEqual([
        {
          TableName: 'parley-test',
          Key: { PK: 'CONV#d_alice_bob', SK: `MEMBER#${userId}` },
          UpdateExpression:
            'SET changeVersion = :changeVersion, changedBy = :entryChangedBy, changedAt = :entryChangedAt, listAt = :entryListAt',
          ConditionExpression:
            'attribute_exists(PK) AND (attribute_not_exists(changeVersion) OR changeVersion < :changeVersion)',
          ExpressionAttributeValues: { ':changeVersion': 9_000_001, ...MOVED_BY_DELIVERY },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      ]);
    }
    expect(postedCalls(api, 'messageUpdated')).toHaveLength(3);
  });

  it('writes no entry again when a replayed change is recorded there already, and posts the frames again', async () => {
    // GIVEN alice's entry already has this change (an earlier attempt of the record)
    ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#alice' } }).rejects(
      conditionFailed({
        PK: 'CONV#d_alice_bob',
        SK: 'MEMBER#alice',
        changeVersion: 7_000_003,
        lastMessage: EDITED_LAST_MESSAGE,
      }),
    );

    const result = await handler(streamEvent(messageModify(EDIT)));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(entryUpdates('alice')).toHaveLength(1);
    expect(postedCalls(api, 'messageUpdated')).toHaveLength(3);
  });

  it('carries the reactions, sorted, from the per-emoji sets of the item', async () => {
    await handler(
      streamEvent(
        messageModify({
          'R#👍': new Set(['carol', 'bob']),
          'U#bob': new Set(['👍']),
          reactionEmoji: new Set(['👍']),
        }),
      ),
    );
    expect(postedFrames(api).get(BOB_PHONE)).toMatchObject({
      editedAt: null,
      reactions: { '👍': ['bob', 'carol'] },
    });
  });

  it('delivers a tombstone with empty content and no reactions', async () => {
    await handler(
      streamEvent(
        messageModify({
          content: '',
          deleted: true,
          deletedAt: '2026-11-23T10:32:00.000Z',
          'R#🎉': new Set(['bob']),
          version: 7_000_003,
        }),
      ),
    );
    expect(postedFrames(api).get(ALICE_PHONE)).toEqual({
      ...UPDATE_BASE,
      content: '',
      editedAt: null,
      deleted: true,
      reactions: {},
    });
    // An entry that shows message 7 shows the tombstone from now on
    expect(entryUpdates('bob')[0]?.ExpressionAttributeValues).toMatchObject({
      ':changeVersion': 7_000_003,
      ':changedMessage': { seq: 7, content: '', deleted: true, version: 7_000_003 },
    });
  });

  it('coalesces a burst of changes to one message in a batch into its last state', async () => {
    const burst = ['bob', 'carol', 'dan', 'erin'].map((_, index, users) =>
      messageModify({ 'R#❤️': new Set(users.slice(0, index + 1)) }, `44215845000000000174504391${10 + index}`),
    );
    const result = await handler(streamEvent(...burst));
    expect(result).toEqual({ batchItemFailures: [] });
    const updates = postedCalls(api, 'messageUpdated');
    // One per connection, not four: the last image holds every reaction.
    expect(updates).toHaveLength(3);
    for (const { frame } of updates)
      expect(frame.reactions).toEqual({ '❤️': ['bob', 'carol', 'dan', 'erin'] });
  });

  it('keeps changes to different messages apart', async () => {
    await handler(
      streamEvent(
        messageModify(
          { content: 'first', editedAt: '2026-11-23T10:31:00.000Z' },
          '4421584500000000017450439110',
        ),
        messageModify(
          { seq: 8, messageId: 'msg-8', content: 'second', editedAt: '2026-11-23T10:31:01.000Z' },
          '4421584500000000017450439111',
        ),
      ),
    );
    const seqs = postedCalls(api, 'messageUpdated')
      .filter((call) => call.connectionId === BOB_PHONE)
      .map((call) => call.frame.seq);
    expect(seqs).toEqual([7, 8]);
  });
});
