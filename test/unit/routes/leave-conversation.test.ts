/**
 * leaveConversation: in a group, one transaction that removes the caller from the conversation item's
 * `members` (conditional on the element removed being the caller) and deletes their member item
 * (conditional on it existing); in a direct conversation only a hide mark on the caller's member item.
 * A non-member gets the shared refusal after the same single read.
 */

import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/leave-conversation.ts';
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
  groupRead,
  implicitRead,
  NONE,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-11-23T10:30:05.200Z');
const NOW_ISO = '2026-11-23T10:30:05.200Z';
const GROUP = 'grp-lunch';
const DM = directConversationId('alice', 'bob');
const ALICE = { name: 'Alice Martin', deviceId: 'iphone-7f3a' };

const leave = (conversationId = GROUP) =>
  messageEvent({ action: 'leaveConversation', conversationId }, ALICE);

const memberKey = (conversationId: string, userId = 'alice') => ({
  PK: `CONV#${conversationId}`,
  SK: `MEMBER#${userId}`,
});

function givenMember(conversationId: string, fields: Record<string, unknown> = {}): void {
  ddb.on(GetCommand, { Key: memberKey(conversationId) }).resolves({
    Item: {
      ...memberKey(conversationId),
      type: 'member',
      conversationId,
      userId: 'alice',
      readSeq: 2,
      lastSeq: 3,
      ...fields,
    },
  });
}

const ACK = { type: 'ack', action: 'leaveConversation' };
const errorFrame = (code: string, message: unknown) => ({
  type: 'error',
  code,
  message,
  action: 'leaveConversation',
});
const NOT_A_MEMBER = errorFrame('forbidden', 'not a member of this conversation');

const getMemberInput = (conversationId: string) => ({
  TableName: TABLE,
  Key: memberKey(conversationId),
  ConsistentRead: true,
});
const getConversationInput = (conversationId: string) => ({
  TableName: TABLE,
  Key: { PK: `CONV#${conversationId}`, SK: 'META' },
  ConsistentRead: true,
});

/** The one transaction of a group leave, removing alice at `index` of `members`. */
const leaveTransaction = (index: number) => ({
  TransactItems: [
    {
      Update: {
        TableName: TABLE,
        Key: { PK: `CONV#${GROUP}`, SK: 'META' },
        // The leave is a change members see: it claims the conversation's next version (its first
        // change, before any message: version 1), guarded by message 1 not existing yet.
        UpdateExpression: `SET changedBy = :leave, changedAt = :leftAt, leftBy = :userId, #changeSeq = :changeSeq, #changeCount = :changeCount REMOVE members[${index}]`,
        ConditionExpression: `kind = :group AND members[${index}] = :userId AND attribute_not_exists(#changeSeq)`,
        ExpressionAttributeNames: { '#changeSeq': 'changeSeq', '#changeCount': 'changeCount' },
        ExpressionAttributeValues: {
          ':leave': 'leave',
          ':leftAt': NOW_ISO,
          ':userId': 'alice',
          ':group': 'group',
          ':changeSeq': 0,
          ':changeCount': 1,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
      },
    },
    {
      Delete: {
        TableName: TABLE,
        Key: memberKey(GROUP),
        ConditionExpression: 'attribute_exists(PK)',
      },
    },
    {
      ConditionCheck: {
        TableName: TABLE,
        Key: { PK: `CONV#${GROUP}`, SK: 'MSG#000000000001' },
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
  ],
});

const hideInput = (seq: number) => ({
  TableName: TABLE,
  Key: memberKey(DM),
  UpdateExpression: 'SET hiddenUntilSeq = :seq, changedBy = :leave',
  ConditionExpression:
    'attribute_exists(PK) AND (attribute_not_exists(hiddenUntilSeq) OR hiddenUntilSeq < :seq)',
  ExpressionAttributeValues: { ':seq': seq, ':leave': 'leave' },
  ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
});

describe('leaveConversation', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(TransactWriteCommand).resolves({});
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    ddb.reset();
  });

  describe('a group', () => {
    beforeEach(() => {
      givenMember(GROUP);
      givenConversation(GROUP, ['alice', 'bob', 'carol']);
    });

    it('removes the caller from the members and deletes their member item, in one conditional transaction', async () => {
      // WHEN
      const response = await handler(leave(), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(ACK);
      const sent = sentToDynamo();
      expect(sent.slice(0, 3)).toEqual([
        // The leaver's rate bucket first, before anything is read.
        rateBucketUpdate('alice', 'leaveConversation'),
        ['GetCommand', getMemberInput(GROUP)],
        ['GetCommand', getConversationInput(GROUP)],
      ]);
      // Where the conversation's version stands (its newest seq, its change count), then the leave.
      expect(
        sent
          .slice(3, 5)
          .map(([name]) => name)
          .sort(),
      ).toEqual(['GetCommand', 'QueryCommand']);
      expect(sent.slice(5)).toEqual([['TransactWriteCommand', leaveTransaction(0)]]);
    });

    it('retries at the new index when another member left first, from the list the failed check returned', async () => {
      // GIVEN the list read was [bob, carol, alice]; bob left meanwhile, so alice is now at index 1
      givenConversation(GROUP, ['bob', 'carol', 'alice']);
      const now = conversationItem(GROUP, ['carol', 'alice']);
      ddb
        .on(TransactWriteCommand)
        .rejectsOnce(cancelled({ ...CONDITION_FAILED, Item: marshall(now) }, NONE))
        .resolves({});

      // WHEN
      const response = await handler(leave(), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(ACK);
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
      expect(ddb).toHaveReceivedNthCommandWith(TransactWriteCommand, 1, leaveTransaction(2));
      expect(ddb).toHaveReceivedNthCommandWith(TransactWriteCommand, 2, leaveTransaction(1));
      // the list came back with the failed check: it is not read again (only the version count is)
      expect(ddb).toHaveReceivedCommandWith(GetCommand, { ProjectionExpression: 'changeSeq, changeCount' });
      expect(ddb).toHaveReceivedCommandTimes(GetCommand, 4);
    });

    it('tries again after a transaction conflict', async () => {
      ddb.on(TransactWriteCommand).rejectsOnce(cancelled(CONFLICT, NONE)).resolves({});

      const response = await handler(leave(), lambdaContext);

      expect(frameOf(response)).toEqual(ACK);
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
      expect(ddb).toHaveReceivedNthCommandWith(TransactWriteCommand, 2, leaveTransaction(0));
    });

    it('answers forbidden when a racing leave of the caller’s own removed the member item first', async () => {
      ddb.on(TransactWriteCommand).rejects(cancelled(CONDITION_FAILED, CONDITION_FAILED));

      const response = await handler(leave(), lambdaContext);

      expect(frameOf(response)).toEqual(NOT_A_MEMBER);
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    });

    it('answers forbidden to a second leave: the caller is no member any more', async () => {
      // GIVEN alice left: no member item, and the list lacks her
      ddb.on(GetCommand, { Key: memberKey(GROUP) }).resolves({});
      givenConversation(GROUP, ['bob', 'carol']);

      const response = await handler(leave(), lambdaContext);

      expect(frameOf(response)).toEqual(NOT_A_MEMBER);
      // Without a member item the group is read too (a member whose item was never written gets it).
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'leaveConversation'),
        ['GetCommand', getMemberInput(GROUP)],
        ['GetCommand', getConversationInput(GROUP)],
      ]);
    });
  });

  describe('a direct conversation', () => {
    beforeEach(() => {
      givenMember(DM);
      givenConversation(DM, ['alice', 'bob'], 'direct');
      givenLastSeq(DM, 9);
    });

    it('changes neither the conversation nor its members: it marks the member item hidden up to the last seq', async () => {
      // WHEN
      const response = await handler(leave(DM), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(ACK);
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'leaveConversation'),
        ['GetCommand', getMemberInput(DM)],
        ['GetCommand', getConversationInput(DM)],
        [
          'QueryCommand',
          expect.objectContaining({
            ExpressionAttributeValues: { ':pk': `CONV#${DM}`, ':msg': 'MSG#' },
            ConsistentRead: true,
          }),
        ],
        // Hiding reads it (protocol.md 1.2): its unread leaves the badge.
        implicitRead(DM, 'alice', 9),
        ['UpdateCommand', hideInput(9)],
      ]);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('acks leaving again (idempotent): a mark as far already is left as it is', async () => {
      ddb
        .on(UpdateCommand, { Key: memberKey(DM) })
        .rejects(conditionFailed(marshall({ ...memberKey(DM), hiddenUntilSeq: 9, changedBy: 'leave' })));

      const response = await handler(leave(DM), lambdaContext);

      expect(frameOf(response)).toEqual(ACK);
      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, hideInput(9));
      // The read cursor is moved as far too, whatever an earlier leave left (never backwards).
      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, implicitRead(DM, 'alice', 9)[1] as object);
    });
  });

  describe('from someone who is not a member', () => {
    const BOB_CAROL = directConversationId('bob', 'carol');

    beforeEach(() => {
      givenConversation(BOB_CAROL, ['bob', 'carol'], 'direct');
      givenConversation('grp-private', ['bob', 'carol']);
    });

    it.each([
      ['the direct conversation of two other users', BOB_CAROL],
      ['a direct conversation id of two users who never talked', directConversationId('bob', 'dave')],
      ['a group of others', 'grp-private'],
      ['a made-up id', 'grp-nope'],
    ])('answers %s with forbidden, reading its own member item (and a group, whether it exists or not)', async (_case, conversationId) => {
      const response = await handler(leave(conversationId), lambdaContext);

      expect(frameOf(response)).toEqual(NOT_A_MEMBER);
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'leaveConversation'),
        ['GetCommand', getMemberInput(conversationId)],
        ...groupRead(conversationId),
      ]);
    });
  });

  it.each<[string, string, Record<string, unknown>]>([
    ['no conversationId', 'bad_request', {}],
    ['an empty conversationId', 'bad_request', { conversationId: '' }],
    ['a conversationId that is a number', 'bad_request', { conversationId: 42 }],
    ['a null conversationId', 'bad_request', { conversationId: null }],
    ['a conversationId of 129 characters', 'too_large', { conversationId: 'c'.repeat(129) }],
  ])('answers %s with %s and touches nothing', async (_case, code, fields) => {
    const event = messageEvent({ action: 'leaveConversation', ...fields }, ALICE);

    const response = await handler(event, lambdaContext);

    expect(frameOf(response)).toEqual(errorFrame(code, expect.any(String)));
    expect(ddb).not.toHaveReceivedAnyCommand();
    expectNothingWritten();
  });
});
