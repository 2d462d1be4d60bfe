/**
 * markRead: moves the caller's read cursor forward only, conditionally on the member item as read, so
 * concurrent reads commute and the unread index entry is dropped only when the reader caught up with
 * the `lastSeq` the decision was based on. A moved cursor answers nothing (the stream tells everyone);
 * a cursor already further answers `read` as it stands.
 */

import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/mark-read.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  conditionFailed,
  ddb,
  expectNothingWritten,
  frameOf,
  givenConversation,
  givenLastSeq,
  groupRead,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
  updatesOf,
} from './route-mocks.ts';

const NOW = new Date('2026-11-23T10:30:05.200Z');
const NOW_ISO = '2026-11-23T10:30:05.200Z';
/** NOW's 10-minute bucket: the `inbox` index key a read moves the reader's entry to. */
const NOW_BUCKET = '2026-11-23T10:30:00.000Z';
const GROUP = 'grp-lunch';
const MEMBER_KEY = { PK: `CONV#${GROUP}`, SK: 'MEMBER#alice' };
const ALICE = { name: 'Alice Martin', deviceId: 'iphone-7f3a' };

const markRead = (seq: number, conversationId = GROUP) =>
  messageEvent({ action: 'markRead', conversationId, seq }, ALICE);

const memberItem = (fields: { readSeq: number; lastSeq: number; readAt?: string }) => ({
  ...MEMBER_KEY,
  type: 'member',
  conversationId: GROUP,
  userId: 'alice',
  joinedAt: '2026-11-20T08:00:00.000Z',
  readAt: '2026-11-23T09:12:44.031Z',
  changedBy: 'delivery',
  ...(fields.lastSeq > fields.readSeq ? { unreadOwner: 'alice' } : {}),
  ...fields,
});

function givenMember(fields: { readSeq: number; lastSeq: number; readAt?: string }): void {
  ddb.on(GetCommand, { Key: MEMBER_KEY }).resolves({ Item: memberItem(fields) });
}

const getMemberInput = { TableName: TABLE, Key: MEMBER_KEY, ConsistentRead: true };

const lastSeqInput = {
  TableName: TABLE,
  KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
  ExpressionAttributeValues: { ':pk': `CONV#${GROUP}`, ':msg': 'MSG#' },
  ProjectionExpression: 'seq',
  ScanIndexForward: false,
  Limit: 1,
  ConsistentRead: true,
};

const CONDITION = 'attribute_exists(PK) AND readSeq < :seq AND lastSeq = :lastSeq';

/** The read also moves the reader's list entry to the front: `changedAt` is the read, `listAt` its bucket. */
const updateInput = (seq: number, lastSeq: number, caughtUp: boolean) => ({
  TableName: TABLE,
  Key: MEMBER_KEY,
  UpdateExpression: `SET readSeq = :seq, readAt = :readAt, changedAt = :readAt, listAt = :listAt, changedBy = :read${caughtUp ? ' REMOVE unreadOwner' : ''}`,
  ConditionExpression: CONDITION,
  ExpressionAttributeValues: {
    ':seq': seq,
    ':readAt': NOW_ISO,
    ':listAt': NOW_BUCKET,
    ':read': 'read',
    ':lastSeq': lastSeq,
  },
  ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
});

const errorFrame = (code: string, message: unknown) => ({ type: 'error', code, message, action: 'markRead' });

describe('markRead', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(UpdateCommand).resolves({});
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    ddb.reset();
  });

  it('moves the cursor to the last message and leaves the unread index, answering nothing', async () => {
    // GIVEN alice read up to 3 of 7
    givenMember({ readSeq: 3, lastSeq: 7 });
    givenLastSeq(GROUP, 7);

    // WHEN
    const response = await handler(markRead(7), lambdaContext);

    // THEN
    expect(response).toEqual({ statusCode: 200 });
    expect(sentToDynamo()).toEqual([
      // The reader's rate bucket first, before anything is read.
      rateBucketUpdate('alice', 'markRead'),
      ['GetCommand', getMemberInput],
      ['QueryCommand', lastSeqInput],
      [
        'UpdateCommand',
        {
          TableName: TABLE,
          Key: MEMBER_KEY,
          // The reader's entry moves to the front of their list (their other devices' unread counts
          // changed): changedAt is the read, listAt its 10-minute bucket.
          UpdateExpression:
            'SET readSeq = :seq, readAt = :readAt, changedAt = :readAt, listAt = :listAt, changedBy = :read REMOVE unreadOwner',
          ConditionExpression: 'attribute_exists(PK) AND readSeq < :seq AND lastSeq = :lastSeq',
          ExpressionAttributeValues: {
            ':seq': 7,
            ':readAt': NOW_ISO,
            ':listAt': NOW_BUCKET,
            ':read': 'read',
            ':lastSeq': 7,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      ],
    ]);
  });

  it('keeps the unread index entry when the reader stops short of the member’s lastSeq', async () => {
    givenMember({ readSeq: 3, lastSeq: 7 });
    givenLastSeq(GROUP, 7);

    const response = await handler(markRead(5), lambdaContext);

    expect(response).toEqual({ statusCode: 200 });
    expect(updatesOf(MEMBER_KEY)).toEqual([updateInput(5, 7, false)]);
  });

  it('counts as caught up when the reader reads past lastSeq (own messages are not in it)', async () => {
    // GIVEN the newest messages (8, 9) are alice's own
    givenMember({ readSeq: 3, lastSeq: 7 });
    givenLastSeq(GROUP, 9);

    await handler(markRead(9), lambdaContext);

    expect(updatesOf(MEMBER_KEY)).toEqual([updateInput(9, 7, true)]);
  });

  it('answers the cursor as it stands, and writes nothing, when already read that far', async () => {
    // GIVEN another device of alice's read up to 6
    givenMember({ readSeq: 6, lastSeq: 7, readAt: '2026-11-23T10:29:40.500Z' });
    givenLastSeq(GROUP, 7);

    // WHEN
    const response = await handler(markRead(4), lambdaContext);

    // THEN
    expect(frameOf(response)).toEqual({
      type: 'read',
      conversationId: GROUP,
      userId: 'alice',
      seq: 6,
      readAt: '2026-11-23T10:29:40.500Z',
    });
    // Asking the rate bucket is all it wrote.
    expect(updatesOf(MEMBER_KEY)).toEqual([]);
    expectNothingWritten();
  });

  it('answers the same seq again as a read frame (markRead is idempotent)', async () => {
    givenMember({ readSeq: 7, lastSeq: 7, readAt: '2026-11-23T10:29:40.500Z' });
    givenLastSeq(GROUP, 7);

    const response = await handler(markRead(7), lambdaContext);

    expect(frameOf(response)).toMatchObject({ type: 'read', seq: 7, readAt: '2026-11-23T10:29:40.500Z' });
    expectNothingWritten();
  });

  it('re-decides against the lastSeq a delivery moved meanwhile, and retries', async () => {
    // GIVEN alice reads to 7 (caught up), while a delivery moves her lastSeq to 8
    givenMember({ readSeq: 3, lastSeq: 7 });
    givenLastSeq(GROUP, 8);
    ddb
      .on(UpdateCommand, { Key: MEMBER_KEY })
      .rejectsOnce(conditionFailed(marshall(memberItem({ readSeq: 3, lastSeq: 8 }))))
      .resolves({});

    // WHEN
    const response = await handler(markRead(7), lambdaContext);

    // THEN the second attempt keeps the unread entry and is conditional on lastSeq 8
    expect(response).toEqual({ statusCode: 200 });
    expect(updatesOf(MEMBER_KEY)).toEqual([updateInput(7, 7, true), updateInput(7, 8, false)]);
  });

  it('answers the newer cursor when another device moved it past seq meanwhile', async () => {
    givenMember({ readSeq: 3, lastSeq: 7 });
    givenLastSeq(GROUP, 7);
    ddb
      .on(UpdateCommand, { Key: MEMBER_KEY })
      .rejects(
        conditionFailed(marshall(memberItem({ readSeq: 7, lastSeq: 7, readAt: '2026-11-23T10:30:05.100Z' }))),
      );

    const response = await handler(markRead(5), lambdaContext);

    expect(frameOf(response)).toEqual({
      type: 'read',
      conversationId: GROUP,
      userId: 'alice',
      seq: 7,
      readAt: '2026-11-23T10:30:05.100Z',
    });
    expect(updatesOf(MEMBER_KEY)).toHaveLength(1);
  });

  it('answers internal after five lost races', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    givenMember({ readSeq: 3, lastSeq: 7 });
    givenLastSeq(GROUP, 7);
    ddb
      .on(UpdateCommand, { Key: MEMBER_KEY })
      .rejects(conditionFailed(marshall(memberItem({ readSeq: 3, lastSeq: 7 }))));

    const response = await handler(markRead(7), lambdaContext);

    // The cause (the cursor kept moving) goes to the log; the client gets the fixed message.
    expect(frameOf(response)).toEqual(
      errorFrame('internal', 'the server failed; retry (with the same clientMessageId)'),
    );
    expect(updatesOf(MEMBER_KEY)).toHaveLength(5);
  });

  it('answers internal without internals when the member item vanished under the update', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    givenMember({ readSeq: 3, lastSeq: 7 });
    givenLastSeq(GROUP, 7);
    ddb.on(UpdateCommand, { Key: MEMBER_KEY }).rejects(conditionFailed());

    const response = await handler(markRead(7), lambdaContext);

    expect(frameOf(response)).toEqual(
      errorFrame('internal', 'the server failed; retry (with the same clientMessageId)'),
    );
    expect(updatesOf(MEMBER_KEY)).toHaveLength(1);
  });

  it('refuses a seq beyond the conversation’s last message', async () => {
    givenMember({ readSeq: 3, lastSeq: 7 });
    givenLastSeq(GROUP, 7);

    const response = await handler(markRead(8), lambdaContext);

    expect(frameOf(response)).toEqual(
      errorFrame('bad_request', "seq: beyond the conversation's last seq (7)"),
    );
    expectNothingWritten();
  });

  it('refuses any seq in a conversation without messages', async () => {
    givenMember({ readSeq: 0, lastSeq: 0 });

    const response = await handler(markRead(1), lambdaContext);

    expect(frameOf(response)).toEqual(
      errorFrame('bad_request', "seq: beyond the conversation's last seq (0)"),
    );
    expectNothingWritten();
  });

  describe('from someone who is not a member', () => {
    // Anyone can compute a direct conversation's id from the two user ids, so the answer must not
    // tell whether bob and carol talk, nor how many messages they exchanged: one answer, and the same
    // work, whether or not the conversation exists. The member item is the membership.
    const BOB_CAROL = directConversationId('bob', 'carol');

    beforeEach(() => {
      givenConversation(BOB_CAROL, ['bob', 'carol'], 'direct');
      givenConversation(GROUP, ['bob', 'carol']);
      givenLastSeq(BOB_CAROL, 7);
      givenLastSeq(GROUP, 7);
    });

    it.each([
      ['the direct conversation of two other users', BOB_CAROL],
      ['a direct conversation id of two users who never talked', directConversationId('bob', 'dave')],
      ['a group of others', GROUP],
      ['a made-up id', 'grp-nope'],
    ])('answers %s with forbidden, reading its own member item (and a group, whether it exists or not)', async (_case, conversationId) => {
      // WHEN alice marks a seq beyond the conversation's last one (a member would learn it is 7)
      const response = await handler(markRead(9, conversationId), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(errorFrame('forbidden', 'not a member of this conversation'));
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'markRead'),
        [
          'GetCommand',
          {
            TableName: TABLE,
            Key: { PK: `CONV#${conversationId}`, SK: 'MEMBER#alice' },
            ConsistentRead: true,
          },
        ],
        // Without a member item a group is read too (a member whose item was never written gets it),
        // whether or not it exists; a direct conversation's items are written with it.
        ...groupRead(conversationId),
      ]);
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['seq 0', { seq: 0 }, 'bad_request'],
    ['a negative seq', { seq: -3 }, 'bad_request'],
    ['a fractional seq', { seq: 2.5 }, 'bad_request'],
    ['a seq given as a string', { seq: '3' }, 'bad_request'],
    ['a null seq', { seq: null }, 'bad_request'],
    ['no seq', { seq: undefined }, 'bad_request'],
    ['no conversationId', { conversationId: undefined }, 'bad_request'],
    ['an empty conversationId', { conversationId: '' }, 'bad_request'],
    ['a conversationId that is a number', { conversationId: 42 }, 'bad_request'],
    ['a conversationId of 129 characters', { conversationId: 'c'.repeat(129) }, 'too_large'],
  ])('answers %s with %s and touches nothing', async (_case, fields, code) => {
    const event = messageEvent({ action: 'markRead', conversationId: GROUP, seq: 3, ...fields }, ALICE);

    const response = await handler(event, lambdaContext);

    expect(frameOf(response)).toEqual(errorFrame(code, expect.any(String)));
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('answers a seq beyond any safe integer with bad_request (out of range), not too_large', async () => {
    // GIVEN a seq no conversation can reach: protocol.md calls that out of range (bad_request);
    // too_large is for fields over their length limit
    const response = await handler(markRead(2 ** 60), lambdaContext);

    expect(frameOf(response)).toEqual(errorFrame('bad_request', expect.any(String)));
    expect(ddb).not.toHaveReceivedAnyCommand();
  });
});
