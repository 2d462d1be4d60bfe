/**
 * editMessage, deleteMessage and react: each is a membership check and one transaction (never a read
 * of the message first): the conversation's next version claimed on its item (conditional on the
 * count as read), a check that no newer message was committed meanwhile, and the conditional update
 * of the message item that stores that version. A refusal is explained from the item DynamoDB returns
 * with the failed condition. The stream, not the route, tells the members (`messageUpdated`).
 */
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as deleteHandler } from '../../../functions/routes/delete-message.ts';
import { handler as editHandler } from '../../../functions/routes/edit-message.ts';
import { handler as reactHandler } from '../../../functions/routes/react.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  CONDITION_FAILED,
  CONFLICT,
  cancelled,
  conditionFailed,
  conversationItem,
  ddb,
  expectNothingWritten,
  frameOf,
  givenConversation,
  givenLastSeq,
  NONE,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-11-23T10:30:05.200Z');
const NOW_ISO = NOW.toISOString();
const GROUP = 'grp-lunch';
const META_KEY = { PK: `CONV#${GROUP}`, SK: 'META' };
const MESSAGE_KEY = { PK: `CONV#${GROUP}`, SK: 'MSG#000000000007' };
const ALICE = { name: 'Alice Martin', deviceId: 'iphone-7f3a' };
/** The newest message is seq 9; the conversation has had 2 changes since it: the next version is 9·10⁶ + 3. */
const LAST_SEQ = 9;
const NEXT_VERSION = 9_000_003;

const send = (handler: typeof editHandler, frame: Record<string, unknown>) =>
  handler(messageEvent(frame, ALICE), lambdaContext);
const edit = (fields: Record<string, unknown> = {}) =>
  send(editHandler, {
    action: 'editMessage',
    conversationId: GROUP,
    seq: 7,
    content: '  lunch at 1?  ',
    ...fields,
  });
const remove = (fields: Record<string, unknown> = {}) =>
  send(deleteHandler, { action: 'deleteMessage', conversationId: GROUP, seq: 7, ...fields });
const react = (fields: Record<string, unknown> = {}) =>
  send(reactHandler, { action: 'react', conversationId: GROUP, seq: 7, emoji: '👍', on: true, ...fields });

const messageItem = (fields: Record<string, unknown> = {}) => ({
  ...MESSAGE_KEY,
  type: 'message',
  conversationId: GROUP,
  seq: 7,
  messageId: 'msg-7',
  senderId: 'alice',
  content: 'lunch at 12?',
  createdAt: '2026-11-23T10:00:00.000Z',
  clientMessageId: 'c-7',
  ...fields,
});

/** The UpdateItems of the message: each request's first UpdateItem is its rate bucket's (checked below). */
const updates = () =>
  sentToDynamo().filter(
    ([name, input]) =>
      name === 'UpdateCommand' && !String((input as { Key: { PK: string } }).Key.PK).startsWith('RATE#'),
  );
const transactions = () =>
  sentToDynamo()
    .filter(([name]) => name === 'TransactWriteCommand')
    .map(
      ([, input]) => (input as { TransactItems: Record<string, Record<string, unknown>>[] }).TransactItems,
    );
/** The message item's update in the first transaction. */
const change = () => transactions()[0]?.[2]?.Update;
const errorFrame = (code: string, action: string) => expect.objectContaining({ type: 'error', code, action });
/** The transaction cancelled on the message item's own condition, which stood as `item`. */
const refusedWith = (item?: Record<string, unknown>) =>
  cancelled(NONE, NONE, { ...CONDITION_FAILED, ...(item && { Item: marshall(item) }) });

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
  ddb.on(GetCommand).resolves({});
  givenConversation(GROUP, ['alice', 'bob', 'carol']);
  ddb.on(GetCommand, { Key: META_KEY, ProjectionExpression: 'changeSeq, changeCount' }).resolves({
    Item: { ...conversationItem(GROUP, ['alice', 'bob', 'carol']), changeSeq: 9, changeCount: 2 },
  });
  givenLastSeq(GROUP, LAST_SEQ);
  ddb.on(TransactWriteCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  ddb.on(GetCommand, { Key: MESSAGE_KEY }).resolves({ Item: messageItem({ deleted: true, content: '' }) });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  ddb.reset();
});

describe('the version every change claims', () => {
  it('is the next count on the conversation item, conditional on the count read, guarded by the next seq', async () => {
    await edit();
    const [claim, guard] = transactions()[0] ?? [];
    expect(claim).toEqual({
      Update: {
        TableName: TABLE,
        Key: META_KEY,
        UpdateExpression: 'SET #changeSeq = :changeSeq, #changeCount = :changeCount, changedBy = :changedBy',
        ConditionExpression:
          'attribute_exists(PK) AND #changeSeq = :readChangeSeq AND #changeCount = :readChangeCount',
        ExpressionAttributeNames: { '#changeSeq': 'changeSeq', '#changeCount': 'changeCount' },
        ExpressionAttributeValues: {
          ':changeSeq': 9,
          ':changeCount': 3,
          ':readChangeSeq': 9,
          ':readChangeCount': 2,
          ':changedBy': 'message-change',
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    });
    expect(guard).toEqual({
      ConditionCheck: {
        TableName: TABLE,
        Key: { PK: `CONV#${GROUP}`, SK: 'MSG#000000000010' },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    });
  });

  it('starts the count at 1 after a newer message', async () => {
    givenLastSeq(GROUP, 12);
    await edit();
    expect(transactions()[0]?.[0]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':changeSeq': 12,
      ':changeCount': 1,
    });
    expect(change()?.ExpressionAttributeValues).toMatchObject({ ':version': 12_000_001 });
  });

  it('is claimed again from the count that came back when another change won, without reading it', async () => {
    const won = { ...conversationItem(GROUP, ['alice', 'bob', 'carol']), changeSeq: 9, changeCount: 5 };
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled({ ...CONDITION_FAILED, Item: marshall(won) }, NONE, NONE))
      .resolves({});
    const answer = edit();
    await vi.runAllTimersAsync();
    expect(frameOf(await answer)).toEqual({ type: 'ack', action: 'editMessage', seq: 7 });
    expect(change()?.ExpressionAttributeValues).toMatchObject({ ':version': NEXT_VERSION });
    expect(transactions()[1]?.[2]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':version': 9_000_006,
    });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { ProjectionExpression: 'changeSeq, changeCount' });
    const countReads = sentToDynamo().filter(
      ([, input]) =>
        (input as { ProjectionExpression?: string }).ProjectionExpression === 'changeSeq, changeCount',
    );
    expect(countReads).toHaveLength(1);
  });

  it('is claimed again when another change or a new message won the race', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled(CONDITION_FAILED, NONE, NONE))
      .rejectsOnce(cancelled(NONE, CONDITION_FAILED, NONE))
      .rejectsOnce(cancelled(NONE, CONFLICT, NONE))
      .resolves({});
    const answer = edit();
    // The back-off between attempts.
    await vi.runAllTimersAsync();
    expect(frameOf(await answer)).toEqual({ type: 'ack', action: 'editMessage', seq: 7 });
    expect(transactions()).toHaveLength(4);
  });
});

describe('editMessage', () => {
  it('updates the content only where the caller sent it and it is not deleted, and acks with the seq', async () => {
    expect(frameOf(await edit())).toEqual({ type: 'ack', action: 'editMessage', seq: 7 });
    expect(change()).toEqual({
      TableName: TABLE,
      Key: MESSAGE_KEY,
      UpdateExpression: 'SET #version = :version, content = :content, editedAt = :editedAt',
      ConditionExpression: 'attribute_exists(PK) AND senderId = :sender AND attribute_not_exists(deleted)',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: {
        ':version': NEXT_VERSION,
        ':content': 'lunch at 1?',
        ':editedAt': NOW_ISO,
        ':sender': 'alice',
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it("is forbidden on another user's message", async () => {
    ddb.on(TransactWriteCommand).rejects(refusedWith(messageItem({ senderId: 'bob' })));
    expect(frameOf(await edit())).toEqual(errorFrame('forbidden', 'editMessage'));
  });

  it('is not_found for a seq that holds no message, and for a deleted one', async () => {
    ddb.on(TransactWriteCommand).rejects(refusedWith());
    expect(frameOf(await edit({ seq: 99 }))).toEqual(errorFrame('not_found', 'editMessage'));
    ddb.on(TransactWriteCommand).rejects(refusedWith(messageItem({ deleted: true, content: '' })));
    expect(frameOf(await edit())).toEqual(errorFrame('not_found', 'editMessage'));
  });

  it('is forbidden for a non-member, before anything is written', async () => {
    givenConversation(GROUP, ['bob', 'carol']);
    expect(frameOf(await edit())).toEqual(errorFrame('forbidden', 'editMessage'));
    expectNothingWritten();
  });

  it('refuses empty and over-long content without writing', async () => {
    expect(frameOf(await edit({ content: '   ' }))).toEqual(errorFrame('bad_request', 'editMessage'));
    expect(frameOf(await edit({ content: 'x'.repeat(4001) }))).toEqual(
      errorFrame('too_large', 'editMessage'),
    );
    expect(frameOf(await edit({ seq: 0 }))).toEqual(errorFrame('bad_request', 'editMessage'));
    expectNothingWritten();
  });
});

describe('deleteMessage', () => {
  it('marks the message deleted with empty content, then removes its reactions', async () => {
    ddb.on(GetCommand, { Key: MESSAGE_KEY }).resolves({
      Item: messageItem({
        deleted: true,
        content: '',
        'R#👍': new Set(['bob']),
        'U#bob': new Set(['👍']),
        reactionEmoji: new Set(['👍']),
      }),
    });
    expect(frameOf(await remove())).toEqual({ type: 'ack', action: 'deleteMessage', seq: 7 });
    expect(change()).toEqual({
      TableName: TABLE,
      Key: MESSAGE_KEY,
      UpdateExpression: 'SET #version = :version, deleted = :true, deletedAt = :deletedAt, content = :empty',
      ConditionExpression: 'attribute_exists(PK) AND senderId = :sender AND attribute_not_exists(deleted)',
      ExpressionAttributeNames: { '#version': 'version' },
      ExpressionAttributeValues: {
        ':version': NEXT_VERSION,
        ':true': true,
        ':deletedAt': NOW_ISO,
        ':empty': '',
        ':sender': 'alice',
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(updates()).toEqual([
      [
        'UpdateCommand',
        {
          TableName: TABLE,
          Key: MESSAGE_KEY,
          UpdateExpression: 'REMOVE #a0, #a1, #a2',
          ConditionExpression: 'deleted = :true',
          ExpressionAttributeNames: { '#a0': 'R#👍', '#a1': 'U#bob', '#a2': 'reactionEmoji' },
          ExpressionAttributeValues: { ':true': true },
        },
      ],
    ]);
  });

  it("deletes the attachments' objects from the bucket before the item stops listing them", async () => {
    const fetchMock = vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(null, { status: 204 }));
    const attachments = ['a1', 'a2'].map((attachmentId) => ({
      attachmentId,
      key: `attachments/${GROUP}/${attachmentId}`,
      contentType: 'image/jpeg',
      size: 2048,
    }));
    ddb.on(GetCommand, { Key: MESSAGE_KEY }).resolves({ Item: messageItem({ deleted: true, attachments }) });
    expect(frameOf(await remove())).toEqual({ type: 'ack', action: 'deleteMessage', seq: 7 });
    const deleted = fetchMock.mock.calls.map(([url, init]) => [init?.method, new URL(String(url)).pathname]);
    expect(deleted.sort()).toEqual([
      ['DELETE', `/attachments/${GROUP}/a1`],
      ['DELETE', `/attachments/${GROUP}/a2`],
    ]);
    expect(updates()[0]?.[1]).toMatchObject({
      UpdateExpression: 'REMOVE #a0',
      ExpressionAttributeNames: { '#a0': 'attachments' },
    });
  });

  it('keeps the attachments listed when the bucket fails, so that a retried delete finishes', async () => {
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(null, { status: 503 }));
    const attachments = [
      { attachmentId: 'a1', key: `attachments/${GROUP}/a1`, contentType: 'image/png', size: 9 },
    ];
    ddb.on(GetCommand, { Key: MESSAGE_KEY }).resolves({ Item: messageItem({ deleted: true, attachments }) });
    expect(frameOf(await remove())).toEqual(errorFrame('internal', 'deleteMessage'));
    expect(updates()).toHaveLength(0);
  });

  it('writes once for a message without reactions', async () => {
    expect(frameOf(await remove())).toEqual({ type: 'ack', action: 'deleteMessage', seq: 7 });
    expect(transactions()).toHaveLength(1);
    expect(updates()).toHaveLength(0);
  });

  it('acks a repeated delete and finishes what the first one left', async () => {
    ddb
      .on(TransactWriteCommand)
      .rejects(refusedWith(messageItem({ deleted: true, content: '', 'R#🎉': new Set(['carol']) })));
    expect(frameOf(await remove())).toEqual({ type: 'ack', action: 'deleteMessage', seq: 7 });
    expect(updates()[0]?.[1]).toMatchObject({
      UpdateExpression: 'REMOVE #a0',
      ExpressionAttributeNames: { '#a0': 'R#🎉' },
    });
  });

  it("is forbidden on another user's message and not_found for an unknown seq", async () => {
    ddb.on(TransactWriteCommand).rejects(refusedWith(messageItem({ senderId: 'carol' })));
    expect(frameOf(await remove())).toEqual(errorFrame('forbidden', 'deleteMessage'));
    ddb.on(TransactWriteCommand).rejects(refusedWith());
    expect(frameOf(await remove({ seq: 12 }))).toEqual(errorFrame('not_found', 'deleteMessage'));
  });
});

describe('react', () => {
  it('adds the user to the emoji set and the emoji to the user set, within both limits', async () => {
    expect(frameOf(await react())).toEqual({ type: 'ack', action: 'react' });
    expect(change()).toEqual({
      TableName: TABLE,
      Key: MESSAGE_KEY,
      UpdateExpression: 'SET #version = :version ADD #users :user, #mine :emoji, #all :emoji',
      ConditionExpression:
        'attribute_exists(PK) AND attribute_not_exists(deleted)' +
        ' AND (attribute_not_exists(#users) OR NOT contains(#users, :userText))' +
        ' AND (attribute_not_exists(#all) OR contains(#all, :emojiText) OR size(#all) < :maxEmoji)' +
        ' AND (attribute_not_exists(#mine) OR contains(#mine, :emojiText) OR size(#mine) < :maxMine)',
      ExpressionAttributeNames: {
        '#version': 'version',
        '#users': 'R#👍',
        '#mine': 'U#alice',
        '#all': 'reactionEmoji',
      },
      ExpressionAttributeValues: {
        ':version': NEXT_VERSION,
        ':user': new Set(['alice']),
        ':emoji': new Set(['👍']),
        ':userText': 'alice',
        ':emojiText': '👍',
        ':maxEmoji': 50,
        ':maxMine': 10,
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('acks a repeated reaction without a new version', async () => {
    ddb.on(TransactWriteCommand).rejects(refusedWith(messageItem({ 'R#👍': new Set(['alice']) })));
    expect(frameOf(await react())).toEqual({ type: 'ack', action: 'react' });
    expect(transactions()).toHaveLength(1);
  });

  it("removes a reaction, and the emoji from the message's count once nobody has it", async () => {
    expect(frameOf(await react({ on: false }))).toEqual({ type: 'ack', action: 'react' });
    expect(change()).toMatchObject({
      UpdateExpression: 'SET #version = :version DELETE #users :user, #mine :emoji',
      ConditionExpression: 'attribute_exists(PK) AND contains(#users, :userText)',
      ExpressionAttributeNames: { '#version': 'version', '#users': 'R#👍', '#mine': 'U#alice' },
    });
    expect(updates()[0]?.[1]).toMatchObject({
      UpdateExpression: 'DELETE #all :emoji',
      ConditionExpression:
        'attribute_exists(PK) AND attribute_not_exists(#users) AND contains(#all, :emojiText)',
      ExpressionAttributeNames: { '#all': 'reactionEmoji', '#users': 'R#👍' },
    });
  });

  it('keeps the emoji counted while others still have it (the removal of the emoji is refused)', async () => {
    ddb.on(UpdateCommand, { Key: MESSAGE_KEY }).rejects(conditionFailed());
    expect(frameOf(await react({ on: false }))).toEqual({ type: 'ack', action: 'react' });
  });

  it('acks taking back a reaction the user does not have, without a new version', async () => {
    ddb.on(TransactWriteCommand).rejects(refusedWith(messageItem()));
    expect(frameOf(await react({ on: false }))).toEqual({ type: 'ack', action: 'react' });
    expect(updates()).toHaveLength(0);
  });

  it('is too_large past 50 emoji on the message or 10 of one user, and not_found on a tombstone', async () => {
    ddb.on(TransactWriteCommand).rejects(refusedWith(messageItem()));
    expect(frameOf(await react())).toEqual(errorFrame('too_large', 'react'));
    const tenOfAlice = new Set(['😀', '😃', '😄', '😁', '😆', '😅', '🤣', '😂', '🙂', '🙃']);
    ddb.on(TransactWriteCommand).rejects(refusedWith(messageItem({ 'U#alice': tenOfAlice })));
    expect(frameOf(await react())).toMatchObject({
      code: 'too_large',
      message: expect.stringContaining('10 emoji'),
    });
    ddb.on(TransactWriteCommand).rejects(refusedWith(messageItem({ deleted: true })));
    expect(frameOf(await react())).toEqual(errorFrame('not_found', 'react'));
    ddb.on(TransactWriteCommand).rejects(refusedWith());
    expect(frameOf(await react({ seq: 40 }))).toEqual(errorFrame('not_found', 'react'));
  });

  it.each([
    ['text', 'ok', 'bad_request'],
    ['two emoji', '👍👍', 'bad_request'],
    ['a digit', '1', 'bad_request'],
    ['nothing', '', 'bad_request'],
    ['over 32 bytes', '👍'.repeat(9), 'too_large'],
  ])('refuses %s as an emoji without writing', async (_, emoji, code) => {
    expect(frameOf(await react({ emoji }))).toEqual(errorFrame(code, 'react'));
    expectNothingWritten();
  });

  it.each(['👍🏽', '🇫🇷', '1️⃣', '👨‍👩‍👧', '❤️'])('takes %s as one emoji', async (emoji) => {
    expect(frameOf(await react({ emoji }))).toEqual({ type: 'ack', action: 'react' });
  });

  it('is forbidden for a non-member', async () => {
    givenConversation(GROUP, ['bob']);
    expect(frameOf(await react())).toEqual(errorFrame('forbidden', 'react'));
    expectNothingWritten();
  });
});

describe('the changer’s rate limit', () => {
  it.each([
    ['editMessage', edit],
    ['deleteMessage', remove],
    ['react', react],
  ] as const)('asks the caller’s %s bucket first, before anything is read', async (action, request) => {
    await request();
    expect(sentToDynamo()[0]).toEqual(rateBucketUpdate('alice', action));
  });
});
