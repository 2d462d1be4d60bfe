/**
 * typing: ephemeral, never stored. The handler posts the indicator itself to every connection of the
 * other members (never the typer's own), removes connections that answer 410, drops other failures,
 * and answers nothing unless the frame is refused.
 */
import {
  ForbiddenException,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler } from '../../../functions/routes/typing.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  api,
  conditionFailed,
  ddb,
  expectNothingWritten,
  frameOf,
  givenConnections,
  givenConversation,
  givenRateBucketsAdmit,
  posted,
  RECEIVED_AT_EPOCH,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const GROUP = 'grp-lunch';
const DM = directConversationId('alice', 'bob');
/** The fixture's requestTimeEpoch (2026-11-23T10:30:05.123Z) plus the 5 s lapse. */
const EXPIRES_AT = '2026-11-23T10:30:10.123Z';
const ALICE = { name: 'Alice Martin', deviceId: 'iphone-7f3a' };

const typing = (fields: Record<string, unknown>) =>
  messageEvent({ action: 'typing', state: 'start', ...fields }, ALICE);

/** Groups lose members (leaveConversation), so membership reads them strongly consistently; by id alone. */
const getConversationInput = (conversationId: string) => ({
  TableName: TABLE,
  Key: { PK: `CONV#${conversationId}`, SK: 'META' },
  ...(!conversationId.startsWith('dm_') && { ConsistentRead: true }),
});

const userPartitionQuery = (userId: string) => ({
  TableName: TABLE,
  KeyConditionExpression: 'PK = :pk',
  ExpressionAttributeValues: { ':pk': `USER#${userId}` },
});

const memberItemsQuery = (conversationId: string) => ({
  TableName: TABLE,
  KeyConditionExpression: 'PK = :pk AND begins_with(SK, :member)',
  ExpressionAttributeValues: { ':pk': `CONV#${conversationId}`, ':member': 'MEMBER#' },
  ConsistentRead: true,
});

const blockersQuery = (userId: string) => ({
  TableName: 'parley-test',
  KeyConditionExpression: 'PK = :pk',
  ExpressionAttributeValues: { ':pk': `BLOCKEDBY#${userId}` },
  ProjectionExpression: 'SK',
  ConsistentRead: true,
  ExclusiveStartKey: undefined,
});
const blocksRead = (userId: string) => ({
  TableName: 'parley-test',
  Key: { PK: `USER#${userId}`, SK: 'STATE' },
  ProjectionExpression: 'blocks',
  ConsistentRead: true,
});

/** The direct conversation's two member items; alice's with `alice`'s flags (consent, blocks). */
function givenDirectMembers(alice: Record<string, unknown>): void {
  ddb.on(QueryCommand, memberItemsQuery(DM)).resolves({
    Items: [
      {
        PK: `CONV#${DM}`,
        SK: 'MEMBER#alice',
        conversationId: DM,
        userId: 'alice',
        readSeq: 0,
        lastSeq: 0,
        ...alice,
      },
      { PK: `CONV#${DM}`, SK: 'MEMBER#bob', conversationId: DM, userId: 'bob', readSeq: 0, lastSeq: 0 },
    ],
  });
}

const typingFrame = (conversationId: string, state: 'start' | 'stop' = 'start') => ({
  type: 'typing',
  conversationId,
  userId: 'alice',
  state,
  expiresAt: EXPIRES_AT,
});

const errorFrame = (code: string, message: unknown) => ({ type: 'error', code, message, action: 'typing' });

const byConnection = (a: { connectionId?: string }, b: { connectionId?: string }) =>
  String(a.connectionId).localeCompare(String(b.connectionId));

describe('typing', () => {
  beforeEach(() => {
    givenRateBucketsAdmit();
    ddb.on(GetCommand).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(DeleteCommand).resolves({});
    api.on(PostToConnectionCommand).resolves({});
  });

  afterEach(() => {
    vi.restoreAllMocks();
    ddb.reset();
    api.reset();
  });

  it('refuses a typing flood with rate_limited before reading or posting anything', async () => {
    givenConversation(GROUP, ['alice', 'bob']);
    givenConnections({ bob: ['bobPhone0001='] });
    ddb.on(UpdateCommand).rejects(conditionFailed(marshall({ tat: Date.now() + 60_000 })));

    const response = await handler(typing({ conversationId: GROUP }), lambdaContext);

    expect(frameOf(response)).toMatchObject({
      ...errorFrame(
        'rate_limited',
        expect.stringMatching(/^more than 2 typing a second; retry after \d+ ms$/),
      ),
      retryAfterMs: expect.any(Number),
    });
    expect(sentToDynamo()).toEqual([rateBucketUpdate('alice', 'typing')]);
    expect(api).not.toHaveReceivedCommand(PostToConnectionCommand);
  });

  it("posts to every connection of the other members, not the typer's, and answers nothing", async () => {
    // GIVEN
    givenConversation(GROUP, ['alice', 'bob', 'carol']);
    givenConnections({
      alice: ['alice-tablet'],
      bob: ['bob-phone', 'bob-laptop'],
      carol: ['carol-phone'],
    });

    // WHEN
    const response = await handler(typing({ conversationId: GROUP }), lambdaContext);

    // THEN
    expect(response).toEqual({ statusCode: 200 });
    expect(sentToDynamo()).toEqual([
      rateBucketUpdate('alice', 'typing'),
      ['GetCommand', getConversationInput(GROUP)],
      // (1.2) who blocks alice, and whom she blocks: strongly consistent
      ['QueryCommand', blockersQuery('alice')],
      ['GetCommand', blocksRead('alice')],
      ['QueryCommand', userPartitionQuery('bob')],
      ['QueryCommand', userPartitionQuery('carol')],
    ]);
    expect(posted().sort(byConnection)).toEqual([
      { connectionId: 'bob-laptop', frame: typingFrame(GROUP) },
      { connectionId: 'bob-phone', frame: typingFrame(GROUP) },
      { connectionId: 'carol-phone', frame: typingFrame(GROUP) },
    ]);
  });

  it('uses the direct conversation for the `to` form', async () => {
    // GIVEN both have written in it (consent, protocol.md 1.2)
    givenConversation(DM, ['alice', 'bob'], 'direct');
    givenDirectMembers({ sent: true, peerSent: true });
    givenConnections({ bob: ['bob-phone'] });

    // WHEN
    const response = await handler(typing({ to: 'bob', state: 'stop' }), lambdaContext);

    // THEN
    expect(response).toEqual({ statusCode: 200 });
    expect(sentToDynamo()).toEqual([
      rateBucketUpdate('alice', 'typing'),
      ['GetCommand', { TableName: TABLE, Key: { PK: `CONV#${DM}`, SK: 'META' } }],
      // Whether either user hid it (leaveConversation): its member items, strongly consistent.
      ['QueryCommand', memberItemsQuery(DM)],
      ['QueryCommand', userPartitionQuery('bob')],
    ]);
    expect(posted()).toEqual([{ connectionId: 'bob-phone', frame: typingFrame(DM, 'stop') }]);
  });

  it.each([
    ['before bob has written in it', { sent: true }],
    ['while alice blocks bob', { sent: true, peerSent: true, blocking: true }],
  ])('types nothing in a direct conversation %s (protocol.md 1.2)', async (_case, alice) => {
    givenConversation(DM, ['alice', 'bob'], 'direct');
    givenDirectMembers(alice);
    givenConnections({ bob: ['bob-phone'] });

    expect(await handler(typing({ to: 'bob', state: 'start' }), lambdaContext)).toEqual({ statusCode: 200 });

    expect(posted()).toEqual([]);
  });

  it('takes expiresAt from when API Gateway received the frame, not from the Lambda clock', async () => {
    // GIVEN the Lambda runs a minute after the frame arrived
    vi.useFakeTimers();
    vi.setSystemTime(RECEIVED_AT_EPOCH + 60_000);
    givenConversation(GROUP, ['alice', 'bob']);
    givenConnections({ bob: ['bob-phone'] });

    try {
      // WHEN
      await handler(typing({ conversationId: GROUP }), lambdaContext);
    } finally {
      vi.useRealTimers();
    }

    // THEN
    expect(posted()).toEqual([{ connectionId: 'bob-phone', frame: typingFrame(GROUP) }]);
  });

  it('reads every page of a member partition', async () => {
    // GIVEN bob's partition spans two pages
    givenConversation(GROUP, ['alice', 'bob']);
    const lastKey = { PK: 'USER#bob', SK: 'CONN#bob-phone' };
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'USER#bob' } })
      .resolvesOnce({
        Items: [{ PK: 'USER#bob', SK: 'CONN#bob-phone', connectionId: 'bob-phone', userId: 'bob' }],
        LastEvaluatedKey: lastKey,
      })
      .resolves({
        Items: [{ PK: 'USER#bob', SK: 'CONN#bob-laptop', connectionId: 'bob-laptop', userId: 'bob' }],
      });

    // WHEN
    await handler(typing({ conversationId: GROUP }), lambdaContext);

    // THEN
    // (the first Query is of who blocks alice)
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 3, {
      ...userPartitionQuery('bob'),
      ExclusiveStartKey: lastKey,
    });
    expect(
      posted()
        .map((post) => post.connectionId)
        .sort(),
    ).toEqual(['bob-laptop', 'bob-phone']);
  });

  it('types to nobody who blocks the typer or whom the typer blocks, in a group (protocol.md 1.2)', async () => {
    // GIVEN carol blocks alice, and alice blocks dave
    givenConversation(GROUP, ['alice', 'bob', 'carol', 'dave']);
    givenConnections({ bob: ['bob-phone'], carol: ['carol-phone'], dave: ['dave-phone'] });
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'BLOCKEDBY#alice' } })
      .resolves({ Items: [{ PK: 'BLOCKEDBY#alice', SK: 'carol' }] });
    ddb
      .on(GetCommand, { Key: { PK: 'USER#alice', SK: 'STATE' } })
      .resolves({ Item: { blocks: new Set(['dave']) } });

    // WHEN
    await handler(typing({ conversationId: GROUP }), lambdaContext);

    // THEN only bob hears it, and nobody's partition but his is read
    expect(posted()).toEqual([{ connectionId: 'bob-phone', frame: typingFrame(GROUP) }]);
    expect(ddb).not.toHaveReceivedCommandWith(QueryCommand, userPartitionQuery('carol'));
    expect(ddb).not.toHaveReceivedCommandWith(QueryCommand, userPartitionQuery('dave'));
  });

  it('answers nothing and posts nothing when no other member is connected', async () => {
    givenConversation(GROUP, ['alice', 'bob']);

    const response = await handler(typing({ conversationId: GROUP }), lambdaContext);

    expect(response).toEqual({ statusCode: 200 });
    expect(api).not.toHaveReceivedAnyCommand();
  });

  it('deletes exactly the connection that answered 410, and still posts to the others', async () => {
    // GIVEN
    givenConversation(GROUP, ['alice', 'bob']);
    givenConnections({ bob: ['bob-stale', 'bob-phone'] });
    api
      .on(PostToConnectionCommand, { ConnectionId: 'bob-stale' })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    // WHEN
    const response = await handler(typing({ conversationId: GROUP }), lambdaContext);

    // THEN
    expect(response).toEqual({ statusCode: 200 });
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(DeleteCommand, {
      TableName: TABLE,
      Key: { PK: 'USER#bob', SK: 'CONN#bob-stale' },
    });
    expect(
      posted()
        .map((post) => post.connectionId)
        .sort(),
    ).toEqual(['bob-phone', 'bob-stale']);
  });

  it('drops other post failures: the typer gets no error and nothing is deleted', async () => {
    // GIVEN
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    givenConversation(GROUP, ['alice', 'bob', 'carol']);
    givenConnections({ bob: ['bob-phone'], carol: ['carol-phone'] });
    api
      .on(PostToConnectionCommand, { ConnectionId: 'bob-phone' })
      .rejects(new ForbiddenException({ message: 'Forbidden', $metadata: { httpStatusCode: 403 } }));

    // WHEN
    const response = await handler(typing({ conversationId: GROUP }), lambdaContext);

    // THEN
    expect(response).toEqual({ statusCode: 200 });
    expect(api).toHaveReceivedCommandWith(PostToConnectionCommand, { ConnectionId: 'carol-phone' });
    expectNothingWritten();
  });

  it('posts nothing to a deactivated member, as messages and reads do not reach them either', async () => {
    // GIVEN carol is deactivated but still has a connection item (it is being closed)
    givenConversation(GROUP, ['alice', 'bob', 'carol']);
    givenConnections({ bob: ['bob-phone'] });
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': 'USER#carol' } }).resolves({
      Items: [
        {
          PK: 'USER#carol',
          SK: 'CONN#carol-phone',
          type: 'connection',
          connectionId: 'carol-phone',
          userId: 'carol',
        },
        { PK: 'USER#carol', SK: 'STATE', type: 'userState', userId: 'carol', deactivated: true },
      ],
    });

    // WHEN
    const response = await handler(typing({ conversationId: GROUP }), lambdaContext);

    // THEN
    expect(response).toEqual({ statusCode: 200 });
    expect(posted()).toEqual([{ connectionId: 'bob-phone', frame: typingFrame(GROUP) }]);
  });

  describe('from someone who is not a member', () => {
    // Anyone can compute a direct conversation's id from the two user ids, so the answer must not
    // tell whether bob and carol talk: one answer, and the same work, whether or not it exists.
    const BOB_CAROL = directConversationId('bob', 'carol');
    const NOT_A_MEMBER = errorFrame('forbidden', 'not a member of this conversation');

    beforeEach(() => {
      givenConversation(BOB_CAROL, ['bob', 'carol'], 'direct');
      givenConversation(GROUP, ['bob', 'carol']);
      givenConnections({ bob: ['bob-phone'], carol: ['carol-phone'] });
    });

    it.each([
      ['the direct conversation of two other users', BOB_CAROL],
      ['a direct conversation id of two users who never talked', directConversationId('bob', 'dave')],
      ['a group of others', GROUP],
      ['a made-up id', 'grp-nope'],
    ])('answers %s with forbidden, reading only the conversation and posting nothing', async (_case, conversationId) => {
      const response = await handler(typing({ conversationId }), lambdaContext);

      expect(frameOf(response)).toEqual(NOT_A_MEMBER);
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'typing'),
        ['GetCommand', getConversationInput(conversationId)],
      ]);
      expect(api).not.toHaveReceivedAnyCommand();
    });

    it('answers `to` a user one has never written to the same way (typing creates nothing)', async () => {
      const response = await handler(typing({ to: 'bob' }), lambdaContext);

      expect(frameOf(response)).toEqual(NOT_A_MEMBER);
      expect(sentToDynamo()).toEqual([
        rateBucketUpdate('alice', 'typing'),
        ['GetCommand', { TableName: TABLE, Key: { PK: `CONV#${DM}`, SK: 'META' } }],
      ]);
      expect(api).not.toHaveReceivedAnyCommand();
    });
  });

  it('answers forbidden to typing to oneself, without reading anything', async () => {
    const response = await handler(typing({ to: 'alice' }), lambdaContext);

    expect(frameOf(response)).toEqual(errorFrame('forbidden', 'you cannot address yourself'));
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it.each<[string, unknown, string]>([
    ['an unknown state', { conversationId: GROUP, state: 'paused' }, 'bad_request'],
    ['no state', { conversationId: GROUP, state: undefined }, 'bad_request'],
    ['a state that is not a string', { conversationId: GROUP, state: true }, 'bad_request'],
    ['both to and conversationId', { conversationId: GROUP, to: 'bob' }, 'bad_request'],
    ['neither to nor conversationId', {}, 'bad_request'],
    ['a conversationId of 129 characters', { conversationId: 'c'.repeat(129) }, 'too_large'],
    ['a body that is not JSON', 'typing...', 'bad_request'],
  ])('answers %s with %s, reading and posting nothing', async (_case, fields, code) => {
    const event =
      typeof fields === 'string' ? messageEvent(fields, ALICE) : typing(fields as Record<string, unknown>);

    const response = await handler(event, lambdaContext);

    expect(frameOf(response)).toEqual(errorFrame(code, expect.any(String)));
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(api).not.toHaveReceivedAnyCommand();
  });
});
