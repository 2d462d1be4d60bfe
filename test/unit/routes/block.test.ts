/**
 * block and listBlocks (protocol.md 1.2): blocking is one transaction of the blocker's `blocks` set
 * (at most 1000, idempotent) and the BLOCKEDBY item, then the marks on the pair's direct member items;
 * unblocking undoes them in the other order. Blocking oneself is refused before anything is read.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler as block } from '../../../functions/routes/block.ts';
import { handler as listBlocks } from '../../../functions/routes/list-blocks.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  CONDITION_FAILED,
  cancelled,
  ddb,
  frameOf,
  givenRateBucketsAdmit,
  NONE,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-12-07T20:00:00.000Z');
const DM = directConversationId('alice', 'bob');
const blockFrame = (userId: string, on: boolean) => messageEvent({ action: 'block', userId, on });

const stateAndIndex = (on: boolean): [string, unknown] => [
  'TransactWriteCommand',
  {
    TransactItems: [
      {
        Update: on
          ? {
              TableName: TABLE,
              Key: { PK: 'USER#alice', SK: 'STATE' },
              UpdateExpression: 'SET #type = :type ADD blocks :blocked',
              ConditionExpression:
                'attribute_not_exists(blocks) OR size(blocks) < :max OR contains(blocks, :blockedId)',
              ExpressionAttributeNames: { '#type': 'type' },
              ExpressionAttributeValues: {
                ':type': 'userState',
                ':blocked': new Set(['bob']),
                ':blockedId': 'bob',
                ':max': 1000,
              },
            }
          : {
              TableName: TABLE,
              Key: { PK: 'USER#alice', SK: 'STATE' },
              UpdateExpression: 'DELETE blocks :blocked',
              ConditionExpression: 'attribute_exists(PK)',
              ExpressionAttributeValues: { ':blocked': new Set(['bob']) },
            },
      },
      on
        ? {
            Put: {
              TableName: TABLE,
              Item: {
                PK: 'BLOCKEDBY#bob',
                SK: 'alice',
                type: 'blockedBy',
                blockerId: 'alice',
                blockedId: 'bob',
                at: NOW.toISOString(),
              },
            },
          }
        : { Delete: { TableName: TABLE, Key: { PK: 'BLOCKEDBY#bob', SK: 'alice' } } },
    ],
  },
];

const memberMark = (userId: string, expression: string): [string, unknown] => [
  'UpdateCommand',
  expect.objectContaining({
    Key: { PK: `CONV#${DM}`, SK: `MEMBER#${userId}` },
    UpdateExpression: expression,
    ConditionExpression: 'attribute_exists(PK)',
  }),
];

describe('block', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    givenRateBucketsAdmit();
    ddb.on(TransactWriteCommand).resolves({});
  });

  afterEach(() => {
    vi.useRealTimers();
    ddb.reset();
  });

  it('adds to the set and the index in one transaction, then marks the direct conversation', async () => {
    const answer = frameOf(await block(blockFrame('bob', true), lambdaContext));

    expect(answer).toEqual({ type: 'ack', action: 'block' });
    expect(sentToDynamo()).toEqual([
      rateBucketUpdate('alice', 'block'),
      stateAndIndex(true),
      memberMark(
        'alice',
        'SET blocking = :true, changedAt = :changedAt, listAt = :listAt, changedBy = :by REMOVE peerStatus, peerLastSeen, peerPresenceAt',
      ),
      memberMark('bob', 'SET blockedByPeer = :true, changedBy = :by'),
    ]);
  });

  it('answers too_large once 1000 users are blocked, and marks nothing', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(CONDITION_FAILED, NONE));

    const answer = frameOf(await block(blockFrame('bob', true), lambdaContext));

    expect(answer).toMatchObject({ type: 'error', code: 'too_large', action: 'block' });
    expect(
      ddb.commandCalls(UpdateCommand).filter((call) => call.args[0].input.Key?.PK !== 'RATE#alice'),
    ).toEqual([]);
  });

  it('acks a block of a user with no conversation with the caller (the marks find no member item)', async () => {
    ddb
      .on(UpdateCommand, { Key: { PK: `CONV#${DM}` } })
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    expect(frameOf(await block(blockFrame('bob', true), lambdaContext))).toEqual({
      type: 'ack',
      action: 'block',
    });
  });

  it('unmarks the direct conversation first, then leaves the set and the index', async () => {
    const answer = frameOf(await block(blockFrame('bob', false), lambdaContext));

    expect(answer).toEqual({ type: 'ack', action: 'block' });
    expect(sentToDynamo()).toEqual([
      rateBucketUpdate('alice', 'block'),
      memberMark('alice', 'SET changedAt = :changedAt, listAt = :listAt, changedBy = :by REMOVE blocking'),
      memberMark('bob', 'SET changedBy = :by REMOVE blockedByPeer'),
      stateAndIndex(false),
    ]);
  });

  it('acks unblocking by a user who never blocked anyone (no state item to change)', async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled(CONDITION_FAILED, NONE));

    expect(frameOf(await block(blockFrame('bob', false), lambdaContext))).toEqual({
      type: 'ack',
      action: 'block',
    });
  });

  it('refuses blocking oneself before anything is read, written or counted', async () => {
    const answer = frameOf(await block(blockFrame('alice', true), lambdaContext));

    expect(answer).toMatchObject({ type: 'error', code: 'forbidden', action: 'block' });
    expect(sentToDynamo()).toEqual([]);
  });

  it.each([
    ['no userId', { action: 'block', on: true }],
    ['a userId with #', { action: 'block', userId: 'bob#1', on: true }],
    ['on as a string', { action: 'block', userId: 'bob', on: 'true' }],
  ])('refuses a frame with %s as bad_request, touching nothing', async (_, frame) => {
    const answer = frameOf(await block(messageEvent(frame), lambdaContext));

    expect(answer).toMatchObject({ type: 'error', code: 'bad_request', action: 'block' });
    expect(sentToDynamo()).toEqual([]);
  });
});

describe('listBlocks', () => {
  afterEach(() => ddb.reset());

  it('answers the set, sorted, read strongly consistently', async () => {
    ddb.on(GetCommand).resolves({ Item: { blocks: new Set(['zed', 'bob', 'mia']) } });

    const answer = frameOf(await listBlocks(messageEvent({ action: 'listBlocks' }), lambdaContext));

    expect(answer).toEqual({ type: 'blocks', userIds: ['bob', 'mia', 'zed'] });
    expect(sentToDynamo()).toEqual([
      [
        'GetCommand',
        {
          TableName: TABLE,
          Key: { PK: 'USER#alice', SK: 'STATE' },
          ProjectionExpression: 'blocks',
          ConsistentRead: true,
        },
      ],
    ]);
  });

  it('answers no one for a user with no state item', async () => {
    ddb.on(GetCommand).resolves({});

    expect(frameOf(await listBlocks(messageEvent({ action: 'listBlocks' }), lambdaContext))).toEqual({
      type: 'blocks',
      userIds: [],
    });
  });
});
