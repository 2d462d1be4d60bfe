/**
 * createConversation: validates the frame (members deduplicated, the caller added, 2–100 of them; a
 * title of at most 200 characters), refuses a group with a deactivated member, commits the conversation
 * and its creation receipt in one conditional transaction, then puts the member items conditionally,
 * and answers the `conversation` frame. A retry with the same clientRequestId (the receipt exists)
 * answers the first creation and puts whatever member items are missing. Every refusal stores nothing.
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../functions/routes/create-conversation.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  CONDITION_FAILED,
  CONFLICT,
  CONNECTION_ID,
  cancelled,
  ddb,
  expectNothingWritten,
  frameOf,
  givenRateBucketsAdmit,
  NONE,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-12-01T09:15:30.250Z');
const NOW_ISO = '2026-12-01T09:15:30.250Z';
const REQUEST_ID = 'c0ffee00-1b2c-4d5e-8f90-a1b2c3d4e5f6';
const GROUP_ID = /^grp_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ALICE = { name: 'Alice Martin', deviceId: 'iphone-7f3a' };
const IF_NEW = 'attribute_not_exists(PK)';
const INTERNAL = 'the server failed; retry (with the same clientMessageId)';

const create = (fields: Record<string, unknown>) =>
  messageEvent(
    {
      action: 'createConversation',
      clientRequestId: REQUEST_ID,
      members: ['bob', 'carol'],
      title: 'Weekend trip',
      ...fields,
    },
    ALICE,
  );

const errorFrame = (code: string, message: unknown, extra: Record<string, unknown> = {}) => ({
  type: 'error',
  code,
  message,
  action: 'createConversation',
  ...extra,
});

const statesInput = (...userIds: string[]) => ({
  RequestItems: {
    [TABLE]: {
      Keys: userIds.map((userId) => ({ PK: `USER#${userId}`, SK: 'STATE' })),
      ProjectionExpression: 'PK, deactivated, sessionsRevokedAt, blocks',
    },
  },
});

function createInput(conversationId: string, members: string[], title: string | null) {
  return {
    TransactItems: [
      {
        Put: {
          TableName: TABLE,
          Item: {
            PK: `CONV#${conversationId}`,
            SK: 'META',
            type: 'conversation',
            conversationId,
            kind: 'group',
            members,
            title,
            createdAt: NOW_ISO,
            createdBy: 'alice',
            originConnectionId: CONNECTION_ID,
          },
          ConditionExpression: IF_NEW,
        },
      },
      {
        Put: {
          TableName: TABLE,
          Item: {
            PK: `CREATED#alice#${REQUEST_ID}`,
            SK: 'CREATED',
            type: 'createReceipt',
            conversationId,
            createdBy: 'alice',
            clientRequestId: REQUEST_ID,
            createdAt: NOW_ISO,
          },
          ConditionExpression: IF_NEW,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ],
  };
}

/** What a member item's list entry shows of its group (adapters/list-entries.ts). */
interface ListedGroup {
  members: string[];
  title: string | null;
  joinedAt: string;
  /** `joinedAt` rounded down to its 10-minute bucket: the `inbox` index key. */
  listAt: string;
}

const NEW_GROUP: ListedGroup = {
  members: ['alice', 'bob', 'carol'],
  title: 'Weekend trip',
  joinedAt: NOW_ISO,
  listAt: '2026-12-01T09:10:00.000Z',
};

/**
 * A member item's put: in a transaction with a check that the conversation still lists the user, so a
 * put that comes after they left (a late retry) cannot bring the group back into their list.
 */
const memberPut = (conversationId: string, userId: string, group: Partial<ListedGroup> = {}) => ({
  TransactItems: [
    {
      ConditionCheck: {
        TableName: TABLE,
        Key: { PK: `CONV#${conversationId}`, SK: 'META' },
        ConditionExpression: 'contains(members, :userId)',
        ExpressionAttributeValues: { ':userId': userId },
      },
    },
    { Put: memberItemPut(conversationId, userId, { ...NEW_GROUP, ...group }) },
  ],
});

/**
 * The member item with its conversation list entry: in the user's `inbox` partition (`memberOf`), at
 * the creation's bucket, showing the group's members and title; a group entry has no `peer` fields.
 */
const memberItemPut = (conversationId: string, userId: string, group: ListedGroup) => ({
  TableName: TABLE,
  Item: {
    PK: `CONV#${conversationId}`,
    SK: `MEMBER#${userId}`,
    type: 'member',
    conversationId,
    userId,
    memberOf: userId,
    kind: 'group',
    members: group.members,
    title: group.title,
    changedAt: group.joinedAt,
    listAt: group.listAt,
    joinedAt: group.joinedAt,
    readSeq: 0,
    lastSeq: 0,
    changedBy: 'create',
  },
  ConditionExpression: IF_NEW,
});

/** The id the handler chose, read from its transaction. */
function createdId(): string {
  const [call] = ddb.commandCalls(TransactWriteCommand);
  const id = call?.args[0].input.TransactItems?.[0]?.Put?.Item?.conversationId;
  expect(id).toMatch(GROUP_ID);
  return String(id);
}

type TransactInput = TransactWriteCommandInput;
const isMemberPut = (input: TransactInput): boolean => input.TransactItems?.[0]?.ConditionCheck !== undefined;
const memberUserId = (input: TransactInput): string => String(input.TransactItems?.[1]?.Put?.Item?.userId);

/** The member puts, sorted by user: they run in parallel, so their order is not part of the contract. */
const memberPuts = () =>
  ddb
    .commandCalls(TransactWriteCommand)
    .map((call) => call.args[0].input as TransactInput)
    .filter(isMemberPut)
    .sort((a, b) => memberUserId(a).localeCompare(memberUserId(b)));

/** The creation's transactions answered by `creation`, the member puts' by `members`. */
function givenTransactions(
  creation: (input: TransactInput) => Promise<unknown>,
  members: (input: TransactInput) => Promise<unknown> = async () => ({}),
): void {
  ddb
    .on(TransactWriteCommand)
    .callsFake(async (input: TransactInput) => (isMemberPut(input) ? members(input) : creation(input)));
}

const conversationFrame = (conversationId: string, fields: Record<string, unknown> = {}) => ({
  type: 'conversation',
  conversationId,
  kind: 'group',
  members: ['alice', 'bob', 'carol'],
  title: 'Weekend trip',
  createdAt: NOW_ISO,
  ...fields,
});

/** The first creation, as a retry finds it. */
const ORIGINAL_ID = 'grp_0b6f3f6e-2a57-4c1e-9d5b-7a3f1e2d4c6b';
const ORIGINAL_CREATED_AT = '2026-12-01T09:15:28.004Z';
const ORIGINAL_RECEIPT = {
  PK: `CREATED#alice#${REQUEST_ID}`,
  SK: 'CREATED',
  type: 'createReceipt',
  conversationId: ORIGINAL_ID,
  createdBy: 'alice',
  clientRequestId: REQUEST_ID,
  createdAt: ORIGINAL_CREATED_AT,
};
const ORIGINAL_CONVERSATION = {
  PK: `CONV#${ORIGINAL_ID}`,
  SK: 'META',
  type: 'conversation',
  conversationId: ORIGINAL_ID,
  kind: 'group',
  members: ['alice', 'bob', 'carol'],
  title: 'Weekend trip',
  createdAt: ORIGINAL_CREATED_AT,
  createdBy: 'alice',
  originConnectionId: 'CfQ3aaaaDoECAAA=',
};
const ORIGINAL_FRAME = conversationFrame(ORIGINAL_ID, { createdAt: ORIGINAL_CREATED_AT });
/** The first creation's entries: joined when it was created, in that moment's bucket. */
const ORIGINAL_ENTRY = { joinedAt: ORIGINAL_CREATED_AT, listAt: '2026-12-01T09:10:00.000Z' };

const membersQuery = (conversationId: string) => ({
  TableName: TABLE,
  KeyConditionExpression: 'PK = :pk AND begins_with(SK, :member)',
  ExpressionAttributeValues: { ':pk': `CONV#${conversationId}`, ':member': 'MEMBER#' },
  ProjectionExpression: 'userId',
  ConsistentRead: true,
});

/** The receipt's transaction was already committed by an earlier attempt. */
function givenAlreadyCreated(presentMembers: string[], returnReceipt = true): void {
  givenTransactions(async () => {
    throw cancelled(
      NONE,
      returnReceipt ? { ...CONDITION_FAILED, Item: marshall(ORIGINAL_RECEIPT) } : CONDITION_FAILED,
    );
  });
  ddb
    .on(GetCommand, { Key: { PK: `CONV#${ORIGINAL_ID}`, SK: 'META' } })
    .resolves({ Item: ORIGINAL_CONVERSATION });
  ddb.on(QueryCommand).resolves({ Items: presentMembers.map((userId) => ({ userId })) });
}

describe('createConversation', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    ddb.on(TransactWriteCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    givenRateBucketsAdmit();
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
    ddb.reset();
  });

  describe('a new group', () => {
    it('reads the other members’ states, commits the conversation and its receipt, then puts every member', async () => {
      // WHEN
      const response = await handler(create({}), lambdaContext);

      // THEN
      const id = createdId();
      expect(frameOf(response)).toEqual(conversationFrame(id));
      expect(sentToDynamo().slice(0, 3)).toEqual([
        // The creator's rate bucket first, before anything is read.
        rateBucketUpdate('alice', 'createConversation'),
        ['BatchGetCommand', statesInput('bob', 'carol')],
        ['TransactWriteCommand', createInput(id, ['alice', 'bob', 'carol'], 'Weekend trip')],
      ]);
      expect(memberPuts()).toEqual([memberPut(id, 'alice'), memberPut(id, 'bob'), memberPut(id, 'carol')]);
      expect(ddb.calls()).toHaveLength(6);
      expect(ddb).not.toHaveReceivedCommand(PutCommand);
    });

    it('adds the caller, removes duplicates and sorts the members', async () => {
      const response = await handler(
        create({ members: ['carol', 'bob', 'carol', 'bob', 'alice'] }),
        lambdaContext,
      );

      const id = createdId();
      expect(frameOf(response)).toEqual(conversationFrame(id));
      expect(sentToDynamo()[1]).toEqual(['BatchGetCommand', statesInput('bob', 'carol')]);
      expect(memberPuts()).toHaveLength(3);
    });

    it('makes a group of two from one other member', async () => {
      const response = await handler(create({ members: ['bob'] }), lambdaContext);

      expect(frameOf(response)).toEqual(conversationFrame(createdId(), { members: ['alice', 'bob'] }));
    });

    it.each<[string, unknown, string | null]>([
      ['no title', undefined, null],
      ['a null title', null, null],
      ['a blank title', ' \n\t ', null],
      ['a title with spaces around it', '  Weekend trip \n', 'Weekend trip'],
      ['a title of 200 emoji (400 UTF-16 units)', '🏕'.repeat(200), '🏕'.repeat(200)],
    ])('stores %s as %j', async (_case, title, stored) => {
      const response = await handler(create({ title }), lambdaContext);

      const id = createdId();
      expect(frameOf(response)).toEqual(conversationFrame(id, { title: stored }));
      expect(sentToDynamo()[2]).toEqual([
        'TransactWriteCommand',
        createInput(id, ['alice', 'bob', 'carol'], stored),
      ]);
      // Every member's list entry shows the title as stored.
      expect(memberPuts()).toEqual(
        ['alice', 'bob', 'carol'].map((userId) => memberPut(id, userId, { title: stored })),
      );
    });

    it('creates a group of 100 with one BatchGetItem and 100 member puts, at most 16 in flight', async () => {
      // GIVEN 99 others
      const others = Array.from({ length: 99 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
      let inFlight = 0;
      let most = 0;
      givenTransactions(
        async () => ({}),
        async () => {
          inFlight += 1;
          most = Math.max(most, inFlight);
          await new Promise((resolve) => setImmediate(resolve));
          inFlight -= 1;
          return {};
        },
      );

      // WHEN
      const response = await handler(create({ members: others }), lambdaContext);

      // THEN
      const id = createdId();
      const members = ['alice', ...others].sort();
      expect(frameOf(response)).toEqual(conversationFrame(id, { members }));
      expect(ddb).toHaveReceivedCommandTimes(BatchGetCommand, 1);
      expect(sentToDynamo()[1]).toEqual(['BatchGetCommand', statesInput(...[...others].sort())]);
      expect(ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems).toHaveLength(2);
      expect(memberPuts()).toEqual(members.map((userId) => memberPut(id, userId, { members })));
      expect(most).toBe(16);
    });

    it('asks again for the states DynamoDB left unprocessed', async () => {
      vi.useRealTimers();
      ddb
        .on(BatchGetCommand)
        .resolvesOnce({
          Responses: { [TABLE]: [] },
          UnprocessedKeys: { [TABLE]: { Keys: [{ PK: 'USER#carol', SK: 'STATE' }] } },
        })
        .resolves({ Responses: { [TABLE]: [{ PK: 'USER#carol', deactivated: true }] } });

      const response = await handler(create({}), lambdaContext);

      expect(ddb).toHaveReceivedNthCommandWith(BatchGetCommand, 2, statesInput('carol'));
      expect(frameOf(response)).toEqual(
        errorFrame('forbidden', 'members: some members cannot be added', { clientRequestId: REQUEST_ID }),
      );
      expectNothingWritten();
    });

    it('retries a transaction that conflicted (a racing retry of the same request)', async () => {
      vi.spyOn(Math, 'random').mockReturnValue(0);
      let conflicted = false;
      givenTransactions(async () => {
        if (conflicted) return {};
        conflicted = true;
        throw cancelled(NONE, CONFLICT);
      });

      const response = await handler(create({}), lambdaContext);

      const creations = ddb
        .commandCalls(TransactWriteCommand)
        .map((call) => call.args[0].input)
        .filter((input) => !isMemberPut(input));
      expect(creations).toHaveLength(2);
      const [first, second] = creations;
      expect(second).toEqual(first);
      expect(frameOf(response)).toEqual(conversationFrame(createdId()));
    });
  });

  describe('a retry of a request that created its group already', () => {
    it('answers the first creation, read strongly consistently, and puts only the missing members', async () => {
      // GIVEN the first attempt crashed after putting alice's and bob's member items
      givenAlreadyCreated(['alice', 'bob']);

      // WHEN
      const response = await handler(create({}), lambdaContext);

      // THEN
      expect(frameOf(response)).toEqual(ORIGINAL_FRAME);
      const calls = sentToDynamo();
      expect(calls.slice(3)).toEqual([
        [
          'GetCommand',
          { TableName: TABLE, Key: { PK: `CONV#${ORIGINAL_ID}`, SK: 'META' }, ConsistentRead: true },
        ],
        ['QueryCommand', membersQuery(ORIGINAL_ID)],
        ['TransactWriteCommand', memberPut(ORIGINAL_ID, 'carol', ORIGINAL_ENTRY)],
      ]);
    });

    it('answers the first creation whatever members and title the retry names', async () => {
      givenAlreadyCreated(['alice', 'bob']);

      const response = await handler(create({ members: ['dave'], title: 'Other' }), lambdaContext);

      expect(frameOf(response)).toEqual(ORIGINAL_FRAME);
      // The missing member's entry shows the first creation's members and title, not the retry's.
      expect(memberPuts()).toEqual([memberPut(ORIGINAL_ID, 'carol', ORIGINAL_ENTRY)]);
      expect(ddb).not.toHaveReceivedCommand(PutCommand);
    });

    it('reads the receipt back (strongly consistent) when the cancellation carries no item', async () => {
      givenAlreadyCreated(['alice', 'bob', 'carol'], false);
      ddb
        .on(GetCommand, { Key: { PK: `CREATED#alice#${REQUEST_ID}`, SK: 'CREATED' } })
        .resolves({ Item: ORIGINAL_RECEIPT });

      const response = await handler(create({}), lambdaContext);

      expect(frameOf(response)).toEqual(ORIGINAL_FRAME);
      expect(sentToDynamo()[3]).toEqual([
        'GetCommand',
        { TableName: TABLE, Key: { PK: `CREATED#alice#${REQUEST_ID}`, SK: 'CREATED' }, ConsistentRead: true },
      ]);
    });

    it('follows the member items over several pages', async () => {
      givenAlreadyCreated([]);
      ddb
        .on(QueryCommand)
        .resolvesOnce({ Items: [{ userId: 'alice' }], LastEvaluatedKey: { PK: 'x', SK: 'MEMBER#alice' } })
        .resolves({ Items: [{ userId: 'carol' }] });

      await handler(create({}), lambdaContext);

      expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
      expect(memberPuts()).toEqual([memberPut(ORIGINAL_ID, 'bob', ORIGINAL_ENTRY)]);
    });

    it('treats a member item a racing retry just wrote as done', async () => {
      givenAlreadyCreated(['alice']);
      givenTransactions(
        async () => {
          throw cancelled(NONE, { ...CONDITION_FAILED, Item: marshall(ORIGINAL_RECEIPT) });
        },
        async () => {
          throw cancelled(NONE, CONDITION_FAILED);
        },
      );

      const response = await handler(create({}), lambdaContext);

      expect(frameOf(response)).toEqual(ORIGINAL_FRAME);
      expect(memberPuts()).toHaveLength(2);
    });

    it('puts no member item for a member who left meanwhile: the conversation no longer lists them', async () => {
      // GIVEN bob left after this retry read the members: the check on the conversation item fails
      givenAlreadyCreated(['alice']);
      givenTransactions(
        async () => {
          throw cancelled(NONE, { ...CONDITION_FAILED, Item: marshall(ORIGINAL_RECEIPT) });
        },
        async (input) => {
          if (memberUserId(input) === 'bob') throw cancelled(CONDITION_FAILED, NONE);
          return {};
        },
      );

      const response = await handler(create({}), lambdaContext);

      // THEN the retry is answered, and bob's item stays gone (no plain put could bring it back)
      expect(frameOf(response)).toEqual(ORIGINAL_FRAME);
      expect(memberPuts().map(memberUserId)).toEqual(['bob', 'carol']);
      expect(ddb).not.toHaveReceivedCommand(PutCommand);
    });

    it('answers internal when the receipt cannot be read back', async () => {
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      givenAlreadyCreated([], false);

      const response = await handler(create({}), lambdaContext);

      expect(frameOf(response)).toEqual(errorFrame('internal', INTERNAL, { clientRequestId: REQUEST_ID }));
      expect(ddb).not.toHaveReceivedCommand(PutCommand);
    });
  });

  describe('failures of ours', () => {
    it('answers internal when a member put fails, after trying every member', async () => {
      // GIVEN bob's put is throttled; the client will retry and the retry completes the members
      const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      givenTransactions(
        async () => ({}),
        async (input) => {
          if (memberUserId(input) === 'bob') {
            throw new ProvisionedThroughputExceededException({
              message: 'Throughput exceeded',
              $metadata: { httpStatusCode: 400 },
            });
          }
          return {};
        },
      );

      const response = await handler(create({}), lambdaContext);

      expect(frameOf(response)).toEqual(errorFrame('internal', INTERNAL, { clientRequestId: REQUEST_ID }));
      expect(memberPuts()).toHaveLength(3);
      expect(stdout.mock.calls.map(([line]) => String(line)).join('')).toContain(
        'ProvisionedThroughputExceededException',
      );
    });

    it('answers internal when the transaction fails for a reason other than a duplicate or a conflict', async () => {
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      ddb
        .on(TransactWriteCommand)
        .rejects(cancelled({ Code: 'ValidationError', Message: 'Item size has exceeded' }, NONE));

      const response = await handler(create({}), lambdaContext);

      expect(frameOf(response)).toEqual(errorFrame('internal', INTERNAL, { clientRequestId: REQUEST_ID }));
      expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(ddb).not.toHaveReceivedCommand(PutCommand);
    });
  });

  describe('refusals', () => {
    it('refuses a group with a deactivated member, naming nobody, and stores nothing', async () => {
      ddb.on(BatchGetCommand).resolves({
        Responses: {
          [TABLE]: [
            { PK: 'USER#carol', deactivated: true },
            { PK: 'USER#bob', deactivated: false },
          ],
        },
      });

      const response = await handler(create({}), lambdaContext);

      expect(frameOf(response)).toEqual(
        errorFrame('forbidden', 'members: some members cannot be added', { clientRequestId: REQUEST_ID }),
      );
      expectNothingWritten();
    });

    it('refuses a group with a member who blocks the creator in the same words, and stores nothing (1.2)', async () => {
      ddb.on(BatchGetCommand).resolves({
        Responses: {
          [TABLE]: [
            { PK: 'USER#carol', blocks: new Set(['dave', 'alice']) },
            { PK: 'USER#bob', blocks: new Set(['carol']) },
          ],
        },
      });

      const response = await handler(create({}), lambdaContext);

      expect(frameOf(response)).toEqual(
        errorFrame('forbidden', 'members: some members cannot be added', { clientRequestId: REQUEST_ID }),
      );
      expectNothingWritten();
    });

    it('names none of 12 deactivated members', async () => {
      const others = Array.from({ length: 12 }, (_, i) => `user-${String(i).padStart(2, '0')}`);
      ddb.on(BatchGetCommand).resolves({
        Responses: { [TABLE]: others.map((userId) => ({ PK: `USER#${userId}`, deactivated: true })) },
      });

      const response = await handler(create({ members: others }), lambdaContext);

      expect(frameOf(response)).toEqual(
        errorFrame('forbidden', 'members: some members cannot be added', { clientRequestId: REQUEST_ID }),
      );
    });

    const hundredOthers = Array.from({ length: 100 }, (_, i) => `user-${i}`);
    it.each<[string, unknown, string, string | undefined]>([
      ['a body that is not JSON', '{"action":"createConversation",', 'bad_request', undefined],
      ['a missing clientRequestId', { clientRequestId: undefined }, 'bad_request', undefined],
      ['an empty clientRequestId', { clientRequestId: '' }, 'bad_request', ''],
      ['a clientRequestId with a space', { clientRequestId: 'req 1' }, 'bad_request', 'req 1'],
      ['a clientRequestId with a #', { clientRequestId: 'a#CREATED' }, 'bad_request', 'a#CREATED'],
      ['a clientRequestId of 65 characters', { clientRequestId: 'r'.repeat(65) }, 'too_large', undefined],
      ['no members', { members: undefined }, 'bad_request', REQUEST_ID],
      ['members that are not a list', { members: 'bob' }, 'bad_request', REQUEST_ID],
      ['an empty member list', { members: [] }, 'bad_request', REQUEST_ID],
      ['only the caller', { members: ['alice', 'alice'] }, 'bad_request', REQUEST_ID],
      ['a member id that is not a string', { members: ['bob', 7] }, 'bad_request', REQUEST_ID],
      ['a member id with a space', { members: ['bob smith'] }, 'bad_request', REQUEST_ID],
      ['an empty member id', { members: ['bob', ''] }, 'bad_request', REQUEST_ID],
      ['a member id of 65 characters', { members: ['b'.repeat(65)] }, 'too_large', REQUEST_ID],
      ['101 entries', { members: [...hundredOthers, 'bob'] }, 'too_large', REQUEST_ID],
      ['100 others (101 with the caller)', { members: hundredOthers }, 'too_large', REQUEST_ID],
      ['a title that is not a string', { title: 42 }, 'bad_request', REQUEST_ID],
      ['a title of 201 characters', { title: 't'.repeat(201) }, 'too_large', REQUEST_ID],
      ['a title of 201 emoji', { title: '🏕'.repeat(201) }, 'too_large', REQUEST_ID],
    ])('answers %s with %s and touches nothing', async (_case, fields, code, echoed) => {
      const event =
        typeof fields === 'string' ? messageEvent(fields, ALICE) : create(fields as Record<string, unknown>);

      const response = await handler(event, lambdaContext);

      expect(frameOf(response)).toEqual(
        errorFrame(code, expect.any(String), echoed === undefined ? {} : { clientRequestId: echoed }),
      );
      expect(ddb).not.toHaveReceivedAnyCommand();
    });

    it('names the rule a member list breaks', async () => {
      const only = await handler(create({ members: [] }), lambdaContext);
      const many = await handler(create({ members: hundredOthers }), lambdaContext);

      expect(frameOf(only).message).toBe('members: name at least one user besides yourself');
      expect(frameOf(many).message).toBe('members: more than 100 including yourself');
    });
  });
});
