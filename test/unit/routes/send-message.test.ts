/**
 * sendMessage: resolves the conversation (creating the direct one on first use), puts the send receipt
 * naming the message id and the next gapless `seq`, then the message at that `seq` (two conditional
 * puts), and answers `ack`. Duplicates answer (and finish) the receipt's commit; a taken `seq` moves the
 * receipt on; every refusal stores nothing.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/send-message.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
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
/** NOW's 10-minute bucket: where a conversation created now sits in the `inbox` index. */
const NOW_BUCKET = '2026-11-23T10:30:00.000Z';
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

const RECEIPT_KEY = { PK: `SENT#alice#${CMID}`, SK: 'SENT' };

/** The receipt put: it names the message id and the one seq its message may be put at. */
function receiptPutInput(conversationId: string, seq: number, messageId: unknown) {
  return {
    TableName: TABLE,
    Item: {
      ...RECEIPT_KEY,
      type: 'sendReceipt',
      conversationId,
      messageId,
      senderId: 'alice',
      createdAt: NOW_ISO,
      clientMessageId: CMID,
      seq,
    },
    ConditionExpression: IF_NEW,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/** The message put at `seq` (key `sk`); `createdAt` is the receipt's. */
function messagePutInput(
  conversationId: string,
  sk: string,
  seq: number,
  messageId: unknown,
  { content = CONTENT, createdAt = NOW_ISO }: { content?: string; createdAt?: string } = {},
) {
  return {
    TableName: TABLE,
    Item: {
      PK: `CONV#${conversationId}`,
      SK: sk,
      type: 'message',
      conversationId,
      messageId,
      senderId: 'alice',
      senderName: 'Alice Martin',
      content,
      createdAt,
      clientMessageId: CMID,
      originConnectionId: CONNECTION_ID,
      seq,
      // this request's own mark: tells its own earlier try from a concurrent request's put
      commitId: expect.stringMatching(UUID),
    },
    ConditionExpression: IF_NEW,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/** The commit of a first send, as sentToDynamo() lists it: the receipt put, then the message put at its seq. */
function commitInput(
  conversationId: string,
  sk: string,
  seq: number,
  messageId: unknown,
  content = CONTENT,
): [string, unknown][] {
  return [
    ['PutCommand', receiptPutInput(conversationId, seq, messageId)],
    ['PutCommand', messagePutInput(conversationId, sk, seq, messageId, { content })],
  ];
}

/** The receipt moved from `seq` (found taken by another message) to `next`, unless moved meanwhile. */
const receiptMoveInput = (seq: number, next: number, messageId: unknown) => ({
  TableName: TABLE,
  Key: RECEIPT_KEY,
  UpdateExpression: 'SET seq = :next',
  ConditionExpression: 'seq = :seq AND messageId = :messageId',
  ExpressionAttributeValues: { ':next': next, ':seq': seq, ':messageId': messageId },
});

/** The strongly consistent read of the receipt (a failed condition that returned no item, a failed move). */
const receiptGetInput = { TableName: TABLE, Key: RECEIPT_KEY, ConsistentRead: true };

/** The strongly consistent read of who holds a seq (a failed message put that returned no item). */
const messageGetInput = (conversationId: string, sk: string) => ({
  TableName: TABLE,
  Key: { PK: `CONV#${conversationId}`, SK: sk },
  ProjectionExpression: 'messageId, commitId',
  ConsistentRead: true,
});

const isCommit = (input: PutCommandInput) => input.Item?.type === 'message';

const putsSent = () => ddb.commandCalls(PutCommand).map((call) => call.args[0].input);

/** The message puts sent, in order (the receipt put is the other PutCommand). */
const commits = () => putsSent().filter(isCommit);

/** The receipt put (at most one per send). */
const receiptPut = () => putsSent().find((input) => input.Item?.type === 'sendReceipt');

const committedKeys = () => commits().map((input) => input.Item?.SK);

/** What message-store.ts sent, in order: everything from its read of the last seq on. */
function sentByCommit(): [string, unknown][] {
  const sent = sentToDynamo();
  const start = sent.findIndex(([name]) => name === 'QueryCommand');
  return start === -1 ? [] : sent.slice(start);
}

/** The random messageId of the receipt put, checked to be the same in the first message put. */
function committedMessageId(): string {
  const messageId = receiptPut()?.Item?.messageId;
  expect(messageId).toMatch(UUID);
  expect(commits()[0]?.Item?.messageId).toBe(messageId);
  return String(messageId);
}

/** Message puts fail with `answer(attempt)` (1-based) when it returns an error; the rest succeed. */
function answerCommits(answer: (attempt: number, input: PutCommandInput) => Error | undefined): void {
  let attempt = 0;
  ddb.on(PutCommand, { Item: { type: 'message' } }).callsFake(async (input: PutCommandInput) => {
    attempt += 1;
    const failure = answer(attempt, input);
    if (failure !== undefined) throw failure;
    return {};
  });
}

/** The receipt put fails: this clientMessageId has a receipt, `item` the raw values its condition returned. */
function givenReceipt(item?: Record<string, AttributeValue>): void {
  ddb.on(PutCommand, { Item: { type: 'sendReceipt' } }).rejects(conditionFailed(item));
}

/** A failed message put: `messageId` holds the seq, its item returned by ALL_OLD (raw attribute values). */
const seqHeldBy = (conversationId: string, sk: string, seq: number, messageId: string, senderId = 'bob') =>
  conditionFailed(
    marshall({
      PK: `CONV#${conversationId}`,
      SK: sk,
      type: 'message',
      conversationId,
      messageId,
      senderId,
      content: 'Noon works.',
      seq,
    }),
  );

/** Another sender's message, holding the seq we aimed at. */
const OTHERS = '5d2c8a41-7e3b-4f90-8c16-9b0e2f7a3d58';

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

/** `userId`'s presence item: their open connections, and when the last one closed. */
function givenPresence(userId: string, presence: { connections: string[]; lastSeen?: string }): void {
  ddb.on(BatchGetCommand).resolves({
    Responses: {
      [TABLE]: [
        {
          PK: `USER#${userId}`,
          SK: 'PRESENCE',
          type: 'presence',
          ...(presence.connections.length > 0 && { connections: new Set(presence.connections) }),
          ...(presence.lastSeen !== undefined && { lastSeen: presence.lastSeen }),
        },
      ],
    },
  });
}

/**
 * A new direct conversation's member item put: the member item with its list entry (in `userId`'s
 * `inbox` partition, at the creation's bucket), naming the other user as `peer` (their contact), who has
 * read and received nothing yet, and showing that user's presence (`presence`).
 */
const directMemberPut = (userId: string, peer: string, presence: Record<string, unknown> = {}) => ({
  Put: {
    TableName: TABLE,
    Item: {
      PK: `CONV#${DM}`,
      SK: `MEMBER#${userId}`,
      type: 'member',
      conversationId: DM,
      userId,
      memberOf: userId,
      kind: 'direct',
      members: ['alice', 'bob'],
      title: null,
      changedAt: NOW_ISO,
      listAt: NOW_BUCKET,
      peer,
      peerReadSeq: 0,
      peerDeliveredSeq: 0,
      joinedAt: NOW_ISO,
      readSeq: 0,
      lastSeq: 0,
      changedBy: 'create',
      ...presence,
    },
    ConditionExpression: IF_NEW,
  },
});

/** The member item puts of the direct conversation's creation (the transaction's items 2 and 3). */
const createdMemberPuts = () =>
  ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.slice(1);

const ORIGINAL_ID = '0b6f3f6e-2a57-4c1e-9d5b-7a3f1e2d4c6b';
const ORIGINAL_CREATED_AT = '2026-11-23T10:29:58.410Z';

/** The receipt of this clientMessageId's first send (seq 3), as a consistent GetItem reads it. */
const ORIGINAL_RECEIPT_ITEM = {
  ...RECEIPT_KEY,
  type: 'sendReceipt',
  conversationId: DM,
  messageId: ORIGINAL_ID,
  senderId: 'alice',
  createdAt: ORIGINAL_CREATED_AT,
  clientMessageId: CMID,
  seq: 3,
};

/** The same receipt as the raw attribute values a failed receipt put returns (ALL_OLD). */
const ORIGINAL_RECEIPT = {
  PK: { S: `SENT#alice#${CMID}` },
  SK: { S: 'SENT' },
  type: { S: 'sendReceipt' },
  conversationId: { S: DM },
  messageId: { S: ORIGINAL_ID },
  senderId: { S: 'alice' },
  createdAt: { S: ORIGINAL_CREATED_AT },
  clientMessageId: { S: CMID },
  seq: { N: '3' },
};

const ORIGINAL_ACK = ack({
  conversationId: DM,
  messageId: ORIGINAL_ID,
  seq: 3,
  createdAt: ORIGINAL_CREATED_AT,
  duplicate: true,
});

describe('sendMessage', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    // No presence item: a user never seen.
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    givenRateBucketsAdmit();
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    ddb.reset();
  });

  describe('to a user (`to`)', () => {
    it('creates the direct conversation on first use, commits seq 1 and acknowledges', async () => {
      // GIVEN bob was last connected at 09:58
      givenPresence('bob', { connections: [], lastSeen: '2026-11-23T09:58:12.000Z' });

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: DM, messageId, seq: 1 }));
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'sendMessage'),
        ['GetCommand', getConversationInput(DM)],
        ['GetCommand', getUserStateInput('bob')],
        // (1.2) alice's own state, on the first message only: whether she blocks bob
        ['GetCommand', getUserStateInput('alice')],
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
              // (1.2) neither entry shows the other's presence: it waits for both to have written
              directMemberPut('alice', 'bob'),
              directMemberPut('bob', 'alice'),
            ],
          },
        ],
        ['QueryCommand', lastSeqInput(DM)],
        ...commitInput(DM, 'MSG#000000000001', 1, messageId),
      ]);
    });

    it('reads no presence for a new direct conversation: it flows only once both have written (1.2)', async () => {
      givenPresence('bob', { connections: ['Bx9aaaaDoECAAA='] });

      await handler(send({ to: 'bob' }), lambdaContext);

      expect(ddb).not.toHaveReceivedCommand(BatchGetCommand);
      expect(createdMemberPuts()).toEqual([directMemberPut('alice', 'bob'), directMemberPut('bob', 'alice')]);
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
        ...commitInput(DM, 'MSG#000000000005', 5, messageId),
      ]);
    });

    it('joins the conversation a racing creator made when its own creation is cancelled', async () => {
      // GIVEN bob created it between our read and our transaction
      ddb.on(TransactWriteCommand).rejects(cancelled(CONDITION_FAILED, CONDITION_FAILED, CONDITION_FAILED));
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
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(DM)],
        ...commitInput(DM, 'MSG#000000000001', 1, messageId),
      ]);
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
        errorFrame('forbidden', 'you cannot send messages to this user', { clientMessageId: CMID }),
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
        ...commitInput(GROUP, 'MSG#000000000042', 42, messageId),
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
        ...commitInput(DM, 'MSG#000000000010', 10, messageId),
      ]);
    });

    it('refuses a direct conversation whose other member is deactivated', async () => {
      givenConversation(DM, ['alice', 'bob'], 'direct');
      ddb
        .on(GetCommand, { Key: { PK: 'USER#bob', SK: 'STATE' } })
        .resolves({ Item: { PK: 'USER#bob', SK: 'STATE', deactivated: true } });

      const response = await handler(send({ conversationId: DM }), lambdaContext);

      expect(frameOf(response)).toEqual(
        errorFrame('forbidden', 'you cannot send messages to this user', { clientMessageId: CMID }),
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

    it('answers a duplicate with the receipt’s fields, from the condition’s item, finding its message stored', async () => {
      // GIVEN this clientMessageId was committed as seq 3: its receipt and its message exist
      givenReceipt(ORIGINAL_RECEIPT);
      answerCommits(() => seqHeldBy(DM, 'MSG#000000000003', 3, ORIGINAL_ID, 'alice'));

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN the message put at the receipt's seq finds the receipt's message: nothing else is read or written
      expect(frameOf(response)).toEqual(ORIGINAL_ACK);
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(DM)],
        ['PutCommand', receiptPutInput(DM, 8, expect.stringMatching(UUID))],
        [
          'PutCommand',
          messagePutInput(DM, 'MSG#000000000003', 3, ORIGINAL_ID, { createdAt: ORIGINAL_CREATED_AT }),
        ],
      ]);
    });

    it('reads the receipt and the message at its seq (strongly consistent) when the conditions return no item', async () => {
      // GIVEN
      givenReceipt();
      answerCommits(() => conditionFailed());
      ddb.on(GetCommand, { Key: RECEIPT_KEY }).resolves({ Item: ORIGINAL_RECEIPT_ITEM });
      ddb
        .on(GetCommand, { Key: { PK: `CONV#${DM}`, SK: 'MSG#000000000003' } })
        .resolves({ Item: { messageId: ORIGINAL_ID } });

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(ORIGINAL_ACK);
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(DM)],
        ['PutCommand', receiptPutInput(DM, 8, expect.stringMatching(UUID))],
        ['GetCommand', receiptGetInput],
        [
          'PutCommand',
          messagePutInput(DM, 'MSG#000000000003', 3, ORIGINAL_ID, { createdAt: ORIGINAL_CREATED_AT }),
        ],
        ['GetCommand', messageGetInput(DM, 'MSG#000000000003')],
      ]);
    });

    it('answers internal, putting no message, when the receipt that failed the put cannot be read back', async () => {
      // GIVEN the receipt's condition failed, but it is gone by the time it is read
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      givenReceipt();

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(
        errorFrame('internal', 'the server failed; retry (with the same clientMessageId)', {
          clientMessageId: CMID,
        }),
      );
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(DM)],
        ['PutCommand', receiptPutInput(DM, 8, expect.stringMatching(UUID))],
        ['GetCommand', receiptGetInput],
      ]);
    });

    it('answers duplicate:false when the receipt names its own message id (the SDK retried a receipt put whose answer timed out)', async () => {
      // GIVEN the first try put the receipt, its answer was lost, and the SDK's retry finds the receipt it wrote
      ddb.on(PutCommand, { Item: { type: 'sendReceipt' } }).callsFake(async (input: PutCommandInput) => {
        throw conditionFailed(marshall(input.Item ?? {}));
      });

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN it is the commit, not a duplicate of it
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: DM, messageId, seq: 8 }));
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(DM)],
        ...commitInput(DM, 'MSG#000000000008', 8, messageId),
      ]);
    });

    it('answers duplicate:false when the message it finds is its own (the SDK retried a message put whose answer timed out)', async () => {
      // GIVEN the first try of the message put stored it, its answer was lost, and the SDK's retry finds it
      answerCommits(
        (_attempt, input) =>
          new ConditionalCheckFailedException({
            message: 'The conditional request failed',
            $metadata: { httpStatusCode: 400, attempts: 2 },
            Item: marshall(input.Item ?? {}),
          }),
      );

      // WHEN
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN it is the commit, not a duplicate of it
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: DM, messageId, seq: 8 }));
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(DM)],
        ...commitInput(DM, 'MSG#000000000008', 8, messageId),
      ]);
    });

    it('finishes a first attempt that stopped after its receipt: the message gets the receipt’s id, createdAt and seq', async () => {
      // GIVEN the first send put its receipt (seq 3) and crashed before putting its message
      givenReceipt(ORIGINAL_RECEIPT);

      // WHEN it is retried
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN the retry stores the message the receipt names; it is the commit (the first attempt never
      // answered an ack), so no duplicate
      expect(frameOf(response)).toEqual({ ...ORIGINAL_ACK, duplicate: false });
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(DM)],
        ['PutCommand', receiptPutInput(DM, 8, expect.stringMatching(UUID))],
        [
          'PutCommand',
          messagePutInput(DM, 'MSG#000000000003', 3, ORIGINAL_ID, { createdAt: ORIGINAL_CREATED_AT }),
        ],
      ]);
    });

    it('moves the receipt it found on, under its message id, when that seq was taken meanwhile', async () => {
      // GIVEN the first send put its receipt (seq 3) and crashed; bob's message then took seq 3
      givenReceipt(ORIGINAL_RECEIPT);
      answerCommits((attempt) => (attempt === 1 ? seqHeldBy(DM, 'MSG#000000000003', 3, OTHERS) : undefined));

      // WHEN it is retried
      const response = await handler(send({ to: 'bob' }), lambdaContext);

      // THEN it stores the message at seq 4 and is the commit
      expect(frameOf(response)).toEqual({ ...ORIGINAL_ACK, seq: 4, duplicate: false });
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(DM)],
        ['PutCommand', receiptPutInput(DM, 8, expect.stringMatching(UUID))],
        [
          'PutCommand',
          messagePutInput(DM, 'MSG#000000000003', 3, ORIGINAL_ID, { createdAt: ORIGINAL_CREATED_AT }),
        ],
        ['UpdateCommand', receiptMoveInput(3, 4, ORIGINAL_ID)],
        [
          'PutCommand',
          messagePutInput(DM, 'MSG#000000000004', 4, ORIGINAL_ID, { createdAt: ORIGINAL_CREATED_AT }),
        ],
      ]);
    });
  });

  describe('seq under contention', () => {
    beforeEach(() => {
      givenConversation(GROUP, ['alice', 'bob', 'carol']);
      vi.spyOn(Math, 'random').mockReturnValue(0.5);
    });

    it('moves its receipt to the next seq at once when its seq was taken the first time', async () => {
      // GIVEN seq 42 is committed by someone else between our read and our message put
      givenLastSeq(GROUP, 41);
      answerCommits((attempt) =>
        attempt === 1 ? seqHeldBy(GROUP, 'MSG#000000000042', 42, OTHERS) : undefined,
      );

      // WHEN (no timer is advanced: a wait would never end)
      const response = await handler(send({ conversationId: GROUP }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: GROUP, messageId, seq: 43 }));
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(GROUP)],
        ...commitInput(GROUP, 'MSG#000000000042', 42, messageId),
        ['UpdateCommand', receiptMoveInput(42, 43, messageId)],
        ['PutCommand', messagePutInput(GROUP, 'MSG#000000000043', 43, messageId)],
      ]);
    });

    it('backs off and moves its receipt to the current top when its seq was taken again', async () => {
      // GIVEN seqs 42 and 43 are taken, and meanwhile the conversation reached 50
      ddb
        .on(QueryCommand)
        .resolvesOnce({ Items: [{ seq: 41 }] })
        .resolves({ Items: [{ seq: 50 }] });
      answerCommits((attempt, input) =>
        attempt <= 2 ? seqHeldBy(GROUP, String(input.Item?.SK), Number(input.Item?.seq), OTHERS) : undefined,
      );

      // WHEN
      const pending = handler(send({ conversationId: GROUP }), lambdaContext);
      await vi.advanceTimersByTimeAsync(19);
      const beforeBackOff = committedKeys();
      await vi.advanceTimersByTimeAsync(1);
      const response = await pending;

      // THEN the second loss waits 0.5 × 40 ms, then re-reads the last seq and aims past it
      const messageId = committedMessageId();
      expect(beforeBackOff).toEqual(['MSG#000000000042', 'MSG#000000000043']);
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(GROUP)],
        ...commitInput(GROUP, 'MSG#000000000042', 42, messageId),
        ['UpdateCommand', receiptMoveInput(42, 43, messageId)],
        ['PutCommand', messagePutInput(GROUP, 'MSG#000000000043', 43, messageId)],
        ['QueryCommand', lastSeqInput(GROUP)],
        ['UpdateCommand', receiptMoveInput(43, 51, messageId)],
        ['PutCommand', messagePutInput(GROUP, 'MSG#000000000051', 51, messageId)],
      ]);
      expect(frameOf(response)).toEqual(ack({ conversationId: GROUP, messageId, seq: 51 }));
    });

    it('tries the seq another attempt moved the receipt to when its own move fails', async () => {
      // GIVEN seq 42 is taken, and another attempt of this clientMessageId already moved the receipt to 44
      givenLastSeq(GROUP, 41);
      answerCommits((attempt) =>
        attempt === 1 ? seqHeldBy(GROUP, 'MSG#000000000042', 42, OTHERS) : undefined,
      );
      ddb.on(UpdateCommand, { Key: RECEIPT_KEY }).rejects(conditionFailed());
      ddb
        .on(GetCommand, { Key: RECEIPT_KEY })
        .callsFake(async () => ({ Item: { ...receiptPut()?.Item, seq: 44 } }));

      // WHEN
      const response = await handler(send({ conversationId: GROUP }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(ack({ conversationId: GROUP, messageId, seq: 44 }));
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(GROUP)],
        ...commitInput(GROUP, 'MSG#000000000042', 42, messageId),
        ['UpdateCommand', receiptMoveInput(42, 43, messageId)],
        ['GetCommand', receiptGetInput],
        ['PutCommand', messagePutInput(GROUP, 'MSG#000000000044', 44, messageId)],
      ]);
    });

    it('gives up with internal, echoing clientMessageId, once the 8 s deadline has passed', async () => {
      // GIVEN every seq it aims at is taken
      givenLastSeq(GROUP, 41);
      answerCommits((_attempt, input) =>
        seqHeldBy(GROUP, String(input.Item?.SK), Number(input.Item?.seq), OTHERS),
      );
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
      // Each loss moved the receipt one seq on (the top never moved): attempts at 0, 0, 20, 60, 140, 300,
      // 620, 1260, 2540, 4540, 6540 and 8000 ms (0.5 × 20·2^n, at most 2 s, never past the deadline), and
      // one past the deadline, after which nothing more is sent.
      const messageId = committedMessageId();
      const takenAgain = Array.from({ length: 11 }, (_, i) => 43 + i);
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(GROUP)],
        ...commitInput(GROUP, 'MSG#000000000042', 42, messageId),
        ['UpdateCommand', receiptMoveInput(42, 43, messageId)],
        ...takenAgain.flatMap((seq) => [
          ['PutCommand', messagePutInput(GROUP, `MSG#0000000000${seq}`, seq, messageId)],
          ['QueryCommand', lastSeqInput(GROUP)],
          ['UpdateCommand', receiptMoveInput(seq, seq + 1, messageId)],
        ]),
        ['PutCommand', messagePutInput(GROUP, 'MSG#000000000054', 54, messageId)],
      ]);
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

    it('answers internal when the message put fails for a reason other than a lost race, writing nothing more', async () => {
      // GIVEN
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      givenConversation(GROUP, ['alice', 'bob', 'carol']);
      answerCommits(
        () =>
          new DynamoDBServiceException({
            name: 'ValidationException',
            $fault: 'client',
            message: 'Item size has exceeded the maximum allowed size',
            $metadata: { httpStatusCode: 400 },
          }),
      );

      // WHEN
      const response = await handler(send({ conversationId: GROUP }), lambdaContext);

      // THEN
      const messageId = committedMessageId();
      expect(frameOf(response)).toEqual(
        errorFrame('internal', 'the server failed; retry (with the same clientMessageId)', {
          clientMessageId: CMID,
        }),
      );
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(GROUP)],
        ...commitInput(GROUP, 'MSG#000000000001', 1, messageId),
      ]);
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
      expect(sentByCommit()).toEqual([
        ['QueryCommand', lastSeqInput(GROUP)],
        ...commitInput(GROUP, 'MSG#000000000001', 1, messageId, content),
      ]);
    });

    it('stores the content trimmed, and counts the limit after trimming', async () => {
      const content = `  \n${'a'.repeat(4000)}\t `;

      const response = await handler(send({ conversationId: GROUP, content }), lambdaContext);

      const messageId = committedMessageId();
      expect(frameOf(response)).toMatchObject({ type: 'ack', seq: 1 });
      expect(commits()).toEqual([
        messagePutInput(GROUP, 'MSG#000000000001', 1, messageId, { content: 'a'.repeat(4000) }),
      ]);
    });

    it('stores markup exactly as sent', async () => {
      const content = '<img src=x onerror="alert(1)"> & </script>';

      await handler(send({ conversationId: GROUP, content }), lambdaContext);

      expect(commits()).toEqual([
        messagePutInput(GROUP, 'MSG#000000000001', 1, committedMessageId(), { content }),
      ]);
    });
  });
});
