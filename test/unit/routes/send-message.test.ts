/**
 * sendMessage: resolves the conversation (creating the direct one on first use), commits the message
 * and its send receipt in one conditional transaction with the next gapless `seq`, and answers `ack`.
 * Duplicates answer the first commit's fields; lost races retry; every refusal stores nothing.
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/send-message.ts';
import { lambdaContext, messageEvent } from '../../support/ws-events.ts';
import {
  CONDITION_FAILED,
  CONFLICT,
  CONNECTION_ID,
  cancelled,
  conditionFailed,
  conversationItem,
  ddb,
  expectNothingWritten,
  frameOf,
  givenConversation,
  givenLastSeq,
  givenRateBucketsAdmit,
  NONE,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-11-23T10:30:05.200Z');
const NOW_ISO = '2026-11-23T10:30:05.200Z';
const CMID = '6f1c2e0a-4b7d-4e59-9a38-2d5f8c1b7e90';
const CONTENT = 'Are we still on for lunch at noon?';
const DM = directConversationId('alice', 'bob');
const GROUP = 'grp-lunch';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ALICE = { name: 'Alice Martin', deviceId: 'iphone-7f3a' };
const IF_NEW = 'attribute_not_exists(PK)';

const send = (fields: Record<string, unknown>) =>
  messageEvent({ action: 'sendMessage', clientMessageId: CMID, content: CONTENT, ...fields }, ALICE);

/** Groups lose members (leaveConversation), so membership reads them strongly consistently; by id alone. */
const getConversationInput = (conversationId: string) => ({
  TableName: TABLE,
  Key: { PK: `CONV#${conversationId}`, SK: 'META' },
  ...(!conversationId.startsWith('dm_') && { ConsistentRead: true }),
});

const getUserStateInput = (userId: string) => ({
  TableName: TABLE,
  Key: { PK: `USER#${userId}`, SK: 'STATE' },
});

const lastSeqInput = (conversationId: string) => ({
  TableName: TABLE,
  KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
  ExpressionAttributeValues: { ':pk': `CONV#${conversationId}`, ':msg': 'MSG#' },
  ProjectionExpression: 'seq',
  ScanIndexForward: false,
  Limit: 1,
  ConsistentRead: true,
});

/** The message put and the receipt put, both conditional on not existing. */
function commitInput(conversationId: string, sk: string, seq: number, messageId: unknown, content = CONTENT) {
  const fields = { conversationId, messageId, senderId: 'alice', createdAt: NOW_ISO, clientMessageId: CMID };
  return {
    TransactItems: [
      {
        Put: {
          TableName: TABLE,
          Item: {
            PK: `CONV#${conversationId}`,
            SK: sk,
            type: 'message',
            ...fields,
            senderName: 'Alice Martin',
            content,
            originConnectionId: CONNECTION_ID,
            seq,
          },
          ConditionExpression: IF_NEW,
        },
      },
      {
        Put: {
          TableName: TABLE,
          Item: { PK: `SENT#alice#${CMID}`, SK: 'SENT', type: 'sendReceipt', ...fields, seq },
          ConditionExpression: IF_NEW,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ],
  };
}

const isCommit = (input: TransactWriteCommandInput) =>
  input.TransactItems?.[0]?.Put?.Item?.type === 'message';

/** The message commits sent, in order (conversation creation is the other TransactWrite). */
const commits = () =>
  ddb
    .commandCalls(TransactWriteCommand)
    .map((call) => call.args[0].input)
    .filter(isCommit);

const committedKeys = () => commits().map((input) => input.TransactItems?.[0]?.Put?.Item?.SK);

/** The random messageId of the first commit, checked to be the same in the message and the receipt. */
function committedMessageId(): string {
  const [first] = commits();
  const messageId = first?.TransactItems?.[0]?.Put?.Item?.messageId;
  expect(messageId).toMatch(UUID);
  expect(first?.TransactItems?.[1]?.Put?.Item?.messageId).toBe(messageId);
  return String(messageId);
}

/** Message commits fail with `answer(attempt)` (1-based) when it returns an error; the rest succeed. */
function answerCommits(answer: (attempt: number) => Error | undefined): void {
  let attempt = 0;
  ddb.on(TransactWriteCommand).callsFake(async (input: TransactWriteCommandInput) => {
    if (!isCommit(input)) return {};
    attempt += 1;
    const failure = answer(attempt);
    if (failure !== undefined) throw failure;
    return {};
  });
}

const ack = (fields: Record<string, unknown>) => ({
  type: 'ack',
  action: 'sendMessage',
  clientMessageId: CMID,
  createdAt: NOW_ISO,
  duplicate: false,
  ...fields,
});

const errorFrame = (code: string, message: unknown, extra: Record<string, unknown> = {}) => ({
  type: 'error',
  code,
  message,
  action: 'sendMessage',
  ...extra,
});

/** The raw attribute values DynamoDB returns with a cancelled receipt put (ALL_OLD). */
const ORIGINAL_RECEIPT = {
  PK: { S: `SENT#alice#${CMID}` },
  SK: { S: 'SENT' },
  type: { S: 'sendReceipt' },
  conversationId: { S: DM },
  messageId: { S: '0b6f3f6e-2a57-4c1e-9d5b-7a3f1e2d4c6b' },
  senderId: { S: 'alice' },
  createdAt: { S: '2026-11-23T10:29:58.410Z' },
  clientMessageId: { S: CMID },
  seq: { N: '3' },
};

const ORIGINAL_ACK = ack({
  conversationId: DM,
  messageId: '0b6f3f6e-2a57-4c1e-9d5b-7a3f1e2d4c6b',
  seq: 3,
  createdAt: '2026-11-23T10:29:58.410Z',
  duplicate: true,
});

describe('sendMessage', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(TransactWriteCommand).resolves({});
    givenRateBucketsAdmit();
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    ddb.reset();
  });

  describe('to a user (`to`)', () => {
    it('creates the direct conversation on first use, commits seq 1 and acknowledges', async () => {
      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: DM, messageId, seq: 1 }));
      // `peer`: each member item of a direct conversation names the other user (their contact).
      const member = (userId: string, peer: string) => ({
        Put: {
          TableName: TABLE,
          Item: {
            PK: `CONV#${DM}`,
            SK: `MEMBER#${userId}`,
            type: 'member',
            conversationId: DM,
            userId,
            memberOf: userId,
            activityAt: NOW_ISO,
            peer,
            joinedAt: NOW_ISO,
            readSeq: 0,
            lastSeq: 0,
            changedBy: 'create',
          },
          ConditionExpression: IF_NEW,
        },
      });
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'sendMessage'),
        ['GetCommand', getConversationInput(DM)],
        ['GetCommand', getUserStateInput('bob')],
        [
          'TransactWriteCommand',
          {
            TransactItems: [
              {
                Put: {
                  TableName: TABLE,
                  Item: {
                    PK: `CONV#${DM}`,
                    SK: 'META',
                    type: 'conversation',
                    conversationId: DM,
                    kind: 'direct',
                    members: ['alice', 'bob'],
                    title: null,
                    createdAt: NOW_ISO,
                    createdBy: 'alice',
                  },
                  ConditionExpression: IF_NEW,
                },
              },
              member('alice', 'bob'),
              member('bob', 'alice'),
            ],
          },
        ],
        ['QueryCommand', lastSeqInput(DM)],
        ['TransactWriteCommand', commitInput(DM, 'MSG#000000000001', 1, messageId)],
      ]);
    });

    it('uses the existing direct conversation and the next seq after its last message', async () => {
      // GIVEN bob wrote first; the conversation has 4 messages
      givenConversation(DM, ['alice', 'bob'], 'direct');
      givenLastSeq(DM, 4);

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: DM, messageId, seq: 5 }));
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'sendMessage'),
        ['GetCommand', getConversationInput(DM)],
        ['GetCommand', getUserStateInput('bob')],
        ['QueryCommand', lastSeqInput(DM)],
        ['TransactWriteCommand', commitInput(DM, 'MSG#000000000005', 5, messageId)],
      ]);
    });

    it('joins the conversation a racing creator made when its own creation is cancelled', async () => {
      // GIVEN bob created it between our read and our transaction
      ddb.on(TransactWriteCommand).callsFake(async (input: TransactWriteCommandInput) => {
        if (!isCommit(input)) throw cancelled(CONDITION_FAILED, CONDITION_FAILED, CONDITION_FAILED);
        return {};
      });
      ddb
        .on(GetCommand, { Key: { PK: `CONV#${DM}`, SK: 'META' }, ConsistentRead: true })
        .resolves({ Item: conversationItem(DM, ['alice', 'bob'], 'direct') });

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: DM, messageId, seq: 1 }));
      expect(ddb).toHaveReceivedCommandWith(GetCommand, {
        ...getConversationInput(DM),
        ConsistentRead: true,
      });
      expect(commits()).toEqual([commitInput(DM, 'MSG#000000000001', 1, messageId)]);
    });

    it('answers internal and commits nothing when the creation is cancelled and no conversation exists yet', async () => {
      // GIVEN a creator still in flight: our creation is cancelled for a conflict
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      ddb.on(TransactWriteCommand).rejects(cancelled(CONFLICT, NONE, NONE));

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(
        errorFrame('internal', 'the server failed; retry (with the same clientMessageId)', {
          clientMessageId: CMID,
        }),
      );
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(commits()).toEqual([]);
    });

    it('refuses a message to oneself without reading or writing anything', async () => {
      const response = await handler(send({ to: 'alice' }), lambdaContext);

      expect(frameOf(response)).toEqual(
        errorFrame('forbidden', 'you cannot send a message to yourself', { clientMessageId: CMID }),
      );
      expect(ddb).not.toHaveReceivedAnyCommand();
    });

    it('refuses a message to a deactivated user, even in an existing conversation', async () => {
      // GIVEN
      givenConversation(DM, ['alice', 'bob'], 'direct');
      ddb
        .on(GetCommand, { Key: { PK: 'USER#bob', SK: 'STATE' } })
        .resolves({ Item: { PK: 'USER#bob', SK: 'STATE', type: 'userState', deactivated: true } });

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(
        errorFrame('forbidden', 'the recipient is deactivated', { clientMessageId: CMID }),
      );
      expectNothingWritten();
      expect(ddb).not.toHaveReceivedCommand(QueryCommand);
    });
  });

  describe('to a conversation (`conversationId`)', () => {
    it("commits to a group the sender belongs to, without reading anyone's state", async () => {
      // GIVEN
      givenConversation(GROUP, ['alice', 'bob', 'carol']);
      givenLastSeq(GROUP, 41);

      // WHEN
      const response = await handler(send({ conversationId: GROUP }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: GROUP, messageId, seq: 42 }));
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'sendMessage'),
        ['GetCommand', getConversationInput(GROUP)],
        ['QueryCommand', lastSeqInput(GROUP)],
        ['TransactWriteCommand', commitInput(GROUP, 'MSG#000000000042', 42, messageId)],
      ]);
    });

    it("checks the other member's state in a direct conversation", async () => {
      // GIVEN
      givenConversation(DM, ['alice', 'bob'], 'direct');
      givenLastSeq(DM, 9);

      // WHEN
      const response = await handler(send({ conversationId: DM }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: DM, messageId, seq: 10 }));
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'sendMessage'),
        ['GetCommand', getConversationInput(DM)],
        ['GetCommand', getUserStateInput('bob')],
        ['QueryCommand', lastSeqInput(DM)],
        ['TransactWriteCommand', commitInput(DM, 'MSG#000000000010', 10, messageId)],
      ]);
    });

    it('refuses a direct conversation whose other member is deactivated', async () => {
      givenConversation(DM, ['alice', 'bob'], 'direct');
      ddb
        .on(GetCommand, { Key: { PK: 'USER#bob', SK: 'STATE' } })
        .resolves({ Item: { PK: 'USER#bob', SK: 'STATE', deactivated: true } });

      const response = await handler(send({ conversationId: DM }), lambdaContext);

      expect(frameOf(response)).toEqual(
        errorFrame('forbidden', 'the recipient is deactivated', { clientMessageId: CMID }),
      );
      expectNothingWritten();
    });
  });

  describe('from someone who is not a member', () => {
    // Anyone can compute a direct conversation's id from the two user ids, so the answer must not
    // tell whether bob and carol talk: one answer, and the same work, whether or not it exists.
    const BOB_CAROL = directConversationId('bob', 'carol');
    const NOT_A_MEMBER = errorFrame('forbidden', 'not a member of this conversation', {
      clientMessageId: CMID,
    });

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
    ])('answers %s with forbidden, reading only the conversation and storing nothing', async (_case, conversationId) => {
      const response = await handler(send({ conversationId }), lambdaContext);

      expect(frameOf(response)).toEqual(NOT_A_MEMBER);
      // The same calls whether or not the conversation exists: the sender's rate bucket, then the conversation.
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'sendMessage'),
        ['GetCommand', getConversationInput(conversationId)],
      ]);
    });
  });

  describe('the sender’s rate limit', () => {
    it('refuses a send past the limit with retryAfterMs, before reading or storing anything', async () => {
      // GIVEN alice's bucket is full: its next request fits 250 ms from now
      givenConversation(DM, ['alice', 'bob'], 'direct');
      ddb.on(UpdateCommand).rejects(conditionFailed(marshall({ tat: NOW.getTime() + 1150 })));

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN the frame counts as not sent: its clientMessageId is still free for the retry
      expect(frameOf(response)).toEqual(
        errorFrame('rate_limited', 'more than 10 sendMessage a second; retry after 250 ms', {
          clientMessageId: CMID,
          retryAfterMs: 250,
        }),
      );
      expect(sentToDynamo()).toEqual([rateBucketUpdate('alice', 'sendMessage')]);
    });

    it('counts the sender, not the connection: the bucket is keyed by user id', async () => {
      givenConversation(DM, ['alice', 'bob'], 'direct');

      await handler(send({ to: 'bob' }), lambdaContext);

      expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { Key: { PK: 'RATE#alice', SK: 'sendMessage' } });
    });
  });

  describe('idempotency', () => {
    beforeEach(() => {
      givenConversation(DM, ['alice', 'bob'], 'direct');
      givenLastSeq(DM, 7);
    });

    it('answers a duplicate with the first commit’s fields, from the cancellation’s item', async () => {
      // GIVEN this clientMessageId was committed as seq 3
      answerCommits(() => cancelled(NONE, { ...CONDITION_FAILED, Item: ORIGINAL_RECEIPT }));

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(ORIGINAL_ACK);
      expect(commits()).toHaveLength(1);
      expect(ddb).not.toHaveReceivedCommandWith(GetCommand, { ConsistentRead: true });
    });

    it('answers duplicate:false when the receipt is its own commit (the SDK retried a commit whose answer timed out)', async () => {
      // GIVEN the first try committed, its answer was lost, and the SDK's retry finds the receipt it wrote
      let ownMessageId = '';
      ddb.on(TransactWriteCommand).callsFake(async (input: TransactWriteCommandInput) => {
        if (!isCommit(input)) return {};
        ownMessageId = String(input.TransactItems?.[0]?.Put?.Item?.messageId);
        throw cancelled(NONE, {
          ...CONDITION_FAILED,
          Item: { ...ORIGINAL_RECEIPT, messageId: { S: ownMessageId } },
        });
      });

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN it is the commit, not a duplicate of it
      expect(frameOf(response)).toEqual({ ...ORIGINAL_ACK, messageId: ownMessageId, duplicate: false });
    });

    it('takes the duplicate from the receipt even when the message seq was taken too', async () => {
      answerCommits(() => cancelled(CONDITION_FAILED, { ...CONDITION_FAILED, Item: ORIGINAL_RECEIPT }));

      const response = await handler(send({ to: 'bob' }), lambdaContext);

      expect(frameOf(response)).toEqual(ORIGINAL_ACK);
      expect(commits()).toHaveLength(1);
    });

    it('reads the receipt (strongly consistent) when the cancellation carries no item', async () => {
      // GIVEN
      answerCommits(() => cancelled(NONE, CONDITION_FAILED));
      ddb.on(GetCommand, { Key: { PK: `SENT#alice#${CMID}`, SK: 'SENT' } }).resolves({
        Item: {
          PK: `SENT#alice#${CMID}`,
          SK: 'SENT',
          type: 'sendReceipt',
          conversationId: DM,
          messageId: '0b6f3f6e-2a57-4c1e-9d5b-7a3f1e2d4c6b',
          senderId: 'alice',
          createdAt: '2026-11-23T10:29:58.410Z',
          clientMessageId: CMID,
          seq: 3,
        },
      });

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(ORIGINAL_ACK);
      expect(ddb).toHaveReceivedCommandTimes(GetCommand, 3);
      expect(sentToDynamo().at(-1)).toEqual([
        'GetCommand',
        { TableName: TABLE, Key: { PK: `SENT#alice#${CMID}`, SK: 'SENT' }, ConsistentRead: true },
      ]);
      expect(commits()).toHaveLength(1);
    });

    it('answers internal when the receipt that cancelled the commit cannot be read back', async () => {
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      answerCommits(() => cancelled(NONE, CONDITION_FAILED));

      const response = await handler(send({ to: 'bob' }), lambdaContext);

      expect(frameOf(response)).toEqual(
        errorFrame('internal', 'the server failed; retry (with the same clientMessageId)', {
          clientMessageId: CMID,
        }),
      );
      expect(commits()).toHaveLength(1);
    });
  });

  describe('seq under contention', () => {
    beforeEach(() => {
      givenConversation(GROUP, ['alice', 'bob', 'carol']);
      vi.spyOn(Math, 'random').mockReturnValue(0.5);
    });

    it('tries the next seq at once when its seq was taken the first time', async () => {
      // GIVEN seq 42 is committed by someone else between our read and our commit
      givenLastSeq(GROUP, 41);
      answerCommits((attempt) => (attempt === 1 ? cancelled(CONDITION_FAILED, NONE) : undefined));

      // WHEN (no timer is advanced: a wait would never end)
      const response = await handler(send({ conversationId: GROUP }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: GROUP, messageId, seq: 43 }));
      expect(commits()).toEqual([
        commitInput(GROUP, 'MSG#000000000042', 42, messageId),
        commitInput(GROUP, 'MSG#000000000043', 43, messageId),
      ]);
      expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    });

    it('backs off and aims at the current top when its seq was taken again', async () => {
      // GIVEN seqs 42 and 43 are taken, and meanwhile the conversation reached 50
      ddb
        .on(QueryCommand)
        .resolvesOnce({ Items: [{ seq: 41 }] })
        .resolves({ Items: [{ seq: 50 }] });
      answerCommits((attempt) => (attempt <= 2 ? cancelled(CONDITION_FAILED, NONE) : undefined));

      // WHEN
      const pending = handler(send({ conversationId: GROUP }), lambdaContext);
      await vi.advanceTimersByTimeAsync(19);
      const beforeBackOff = committedKeys();
      await vi.advanceTimersByTimeAsync(1);
      const response = await pending;

      // THEN the second loss waits 0.5 × 40 ms, then re-reads the last seq
      expect(beforeBackOff).toEqual(['MSG#000000000042', 'MSG#000000000043']);
      expect(committedKeys()).toEqual(['MSG#000000000042', 'MSG#000000000043', 'MSG#000000000051']);
      expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
      expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, lastSeqInput(GROUP));
      expect(frameOf(response)).toMatchObject({ type: 'ack', seq: 51, duplicate: false });
    });

    it('retries the same seq after a jittered back-off when the transaction conflicted', async () => {
      // GIVEN
      givenLastSeq(GROUP, 41);
      answerCommits((attempt) => (attempt === 1 ? cancelled(NONE, CONFLICT) : undefined));

      // WHEN
      const pending = handler(send({ conversationId: GROUP }), lambdaContext);
      await vi.advanceTimersByTimeAsync(9);
      const beforeBackOff = commits().length;
      await vi.advanceTimersByTimeAsync(1);
      const response = await pending;

      // THEN the first loss waits 0.5 × 20 ms
      const messageId = committedMessageId();
      expect(beforeBackOff).toBe(1);
      expect(commits()).toEqual([
        commitInput(GROUP, 'MSG#000000000042', 42, messageId),
        commitInput(GROUP, 'MSG#000000000042', 42, messageId),
      ]);
      expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
      expect(frameOf(response)).toEqual(ack({ conversationId: GROUP, messageId, seq: 42 }));
    });

    it('gives up with internal, echoing clientMessageId, once the 8 s deadline has passed', async () => {
      // GIVEN every attempt conflicts
      givenLastSeq(GROUP, 41);
      answerCommits(() => cancelled(NONE, CONFLICT));
      let settled = false;

      // WHEN
      const pending = handler(send({ conversationId: GROUP }), lambdaContext).finally(() => {
        settled = true;
      });
      await vi.advanceTimersByTimeAsync(7_900);
      const settledBeforeDeadline = settled;
      await vi.advanceTimersByTimeAsync(5_000);
      const response = await pending;

      // THEN
      expect(settledBeforeDeadline).toBe(false);
      expect(frameOf(response)).toEqual(
        errorFrame('internal', 'the server failed; retry (with the same clientMessageId)', {
          clientMessageId: CMID,
        }),
      );
      expect(commits().length).toBeGreaterThan(2);
      expect(new Set(committedKeys())).toEqual(new Set(['MSG#000000000042']));
    });
  });

  describe('refusals', () => {
    it.each<[string, unknown, string, string | undefined]>([
      [
        'a body that is not JSON',
        '{"action":"sendMessage","clientMessageId":"m-1",',
        'bad_request',
        undefined,
      ],
      ['a JSON array', '[]', 'bad_request', undefined],
      ['a missing clientMessageId', { to: 'bob', clientMessageId: undefined }, 'bad_request', undefined],
      [
        'a clientMessageId that is not a string',
        { to: 'bob', clientMessageId: 42 },
        'bad_request',
        undefined,
      ],
      ['an empty clientMessageId', { to: 'bob', clientMessageId: '' }, 'bad_request', ''],
      ['a clientMessageId with a space', { to: 'bob', clientMessageId: 'msg 1' }, 'bad_request', 'msg 1'],
      ['a clientMessageId with a #', { to: 'bob', clientMessageId: 'a#SENT' }, 'bad_request', 'a#SENT'],
      [
        'a clientMessageId of 65 characters',
        { to: 'bob', clientMessageId: 'm'.repeat(65) },
        'too_large',
        undefined,
      ],
      ['no content', { to: 'bob', content: undefined }, 'bad_request', CMID],
      ['content that is not a string', { to: 'bob', content: 12 }, 'bad_request', CMID],
      ['empty content', { to: 'bob', content: '' }, 'bad_request', CMID],
      ['whitespace-only content', { to: 'bob', content: ' \n\t\u00a0 ' }, 'bad_request', CMID],
      ['content of 4001 characters', { to: 'bob', content: 'a'.repeat(4001) }, 'too_large', CMID],
      ['content of 4001 emoji', { to: 'bob', content: '😀'.repeat(4001) }, 'too_large', CMID],
      ['both to and conversationId', { to: 'bob', conversationId: GROUP }, 'bad_request', CMID],
      ['neither to nor conversationId', {}, 'bad_request', CMID],
      ['a to with characters user ids never have', { to: 'bob smith' }, 'bad_request', CMID],
      ['an empty conversationId', { conversationId: '' }, 'bad_request', CMID],
      ['a conversationId of 129 characters', { conversationId: 'c'.repeat(129) }, 'too_large', CMID],
      ['a conversationId that is not a string', { conversationId: ['grp'] }, 'bad_request', CMID],
    ])('answers %s with %s and touches nothing', async (_case, fields, code, echoed) => {
      // GIVEN
      const event =
        typeof fields === 'string' ? messageEvent(fields, ALICE) : send(fields as Record<string, unknown>);

      // WHEN
      const response = await handler(event, lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(
        errorFrame(code, expect.any(String), echoed === undefined ? {} : { clientMessageId: echoed }),
      );
      expect(ddb).not.toHaveReceivedAnyCommand();
    });

    it('answers a `to` over the 64-character user id limit with too_large (protocol.md: a field over its limit)', async () => {
      // GIVEN a user id of 65 allowed characters
      const response = await handler(send({ to: 'b'.repeat(65) }), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(
        errorFrame('too_large', 'to: too long or too large', { clientMessageId: CMID }),
      );
      expect(ddb).not.toHaveReceivedAnyCommand();
    });

    it('names the field in a validation message', async () => {
      const response = await handler(send({ to: 'bob', clientMessageId: 'm'.repeat(65) }), lambdaContext);

      expect(frameOf(response)).toEqual(errorFrame('too_large', 'clientMessageId: too long or too large'));
    });

    it('answers internal without internals when DynamoDB fails unexpectedly, and commits nothing', async () => {
      // GIVEN
      const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      givenConversation(GROUP, ['alice', 'bob', 'carol']);
      ddb.on(QueryCommand).rejects(
        new ProvisionedThroughputExceededException({
          message: 'Throughput exceeded for table arn:aws:dynamodb:eu-west-1:123456789012:table/parley-test',
          $metadata: { httpStatusCode: 400 },
        }),
      );

      // WHEN
      const response = await handler(send({ conversationId: GROUP }), lambdaContext);

      // THEN the client gets a generic message; the details go to the log
      expect(frameOf(response)).toEqual(
        errorFrame('internal', 'the server failed; retry (with the same clientMessageId)', {
          clientMessageId: CMID,
        }),
      );
      expect(response.body).not.toMatch(/throughput|arn:|parley-test/i);
      expectNothingWritten();
      const logged = stdout.mock.calls.map(([line]) => String(line)).join('');
      expect(logged).toContain('ProvisionedThroughputExceededException');
    });

    it('answers internal when a commit fails for a reason other than a lost race', async () => {
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      givenConversation(GROUP, ['alice', 'bob', 'carol']);
      answerCommits(() => cancelled({ Code: 'ValidationError', Message: 'Item size has exceeded' }, NONE));

      const response = await handler(send({ conversationId: GROUP }), lambdaContext);

      expect(frameOf(response)).toEqual(
        errorFrame('internal', 'the server failed; retry (with the same clientMessageId)', {
          clientMessageId: CMID,
        }),
      );
      expect(commits()).toHaveLength(1);
    });
  });

  describe('content', () => {
    beforeEach(() => {
      givenConversation(GROUP, ['alice', 'bob', 'carol']);
    });

    it('accepts 4000 emoji: the limit counts code points, not UTF-16 units', async () => {
      // GIVEN 4000 characters that are 8000 UTF-16 units
      const content = '😀'.repeat(4000);

      // WHEN
      const response = await handler(send({ conversationId: GROUP, content }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: GROUP, messageId, seq: 1 }));
      expect(commits()).toEqual([commitInput(GROUP, 'MSG#000000000001', 1, messageId, content)]);
    });

    it('stores the content trimmed, and counts the limit after trimming', async () => {
      const content = `  \n${'a'.repeat(4000)}\t `;

      const response = await handler(send({ conversationId: GROUP, content }), lambdaContext);

      const messageId = committedMessageId();
      expect(frameOf(response)).toMatchObject({ type: 'ack', seq: 1 });
      expect(commits()).toEqual([commitInput(GROUP, 'MSG#000000000001', 1, messageId, 'a'.repeat(4000))]);
    });

    it('stores markup exactly as sent', async () => {
      const content = '<img src=x onerror="alert(1)"> & </script>';

      await handler(send({ conversationId: GROUP, content }), lambdaContext);

      expect(commits()).toEqual([commitInput(GROUP, 'MSG#000000000001', 1, committedMessageId(), content)]);
    });
  });
});
