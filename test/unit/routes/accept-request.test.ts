/**
 * acceptRequest (protocol.md 1.2, "Who may talk to whom"): a request is accepted in one transaction of
 * the two member items (the acceptor's `pendingRequest` taken away, `sent` set, the entry moved; the
 * other's `peerSent`), after the caller's member item showed it pending. Anything that is no request is
 * acked unchanged; a group id is refused before anything is read or counted; a non-member is refused
 * after the one read.
 */
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { directConversationId } from '../../../functions/domain/identifiers.ts';
import { handler as acceptRequest } from '../../../functions/routes/accept-request.ts';
import { lambdaContext, messageEvent } from '../../../local/harness/ws-events.ts';
import {
  CONDITION_FAILED,
  CONFLICT,
  cancelled,
  ddb,
  frameOf,
  givenRateBucketsAdmit,
  NONE,
  rateBucketUpdate,
  sentToDynamo,
  TABLE,
} from './route-mocks.ts';

const NOW = new Date('2026-12-08T09:00:00.000Z');
const DM = directConversationId('alice', 'bob');
const accept = (conversationId: unknown = DM) => messageEvent({ action: 'acceptRequest', conversationId });
const ACK = { type: 'ack', action: 'acceptRequest' };

const aliceItem = (fields: Record<string, unknown>) => ({
  Item: {
    PK: `CONV#${DM}`,
    SK: 'MEMBER#alice',
    type: 'member',
    conversationId: DM,
    userId: 'alice',
    peer: 'bob',
    readSeq: 0,
    lastSeq: 2,
    peerSent: true,
    ...fields,
  },
});

const memberRead: [string, unknown] = [
  'GetCommand',
  { TableName: TABLE, Key: { PK: `CONV#${DM}`, SK: 'MEMBER#alice' }, ConsistentRead: true },
];

const acceptance: [string, unknown] = [
  'TransactWriteCommand',
  {
    TransactItems: [
      {
        Update: {
          TableName: TABLE,
          Key: { PK: `CONV#${DM}`, SK: 'MEMBER#alice' },
          UpdateExpression:
            'SET sent = :yes, changedBy = :by, changedAt = :at, listAt = :listAt REMOVE pendingRequest',
          ConditionExpression: 'pendingRequest = :yes',
          ExpressionAttributeValues: {
            ':yes': true,
            ':by': 'accept',
            ':at': NOW.toISOString(),
            ':listAt': '2026-12-08T09:00:00.000Z',
          },
        },
      },
      {
        Update: {
          TableName: TABLE,
          Key: { PK: `CONV#${DM}`, SK: 'MEMBER#bob' },
          UpdateExpression: 'SET peerSent = :yes, changedBy = :by',
          ConditionExpression: 'attribute_exists(PK)',
          ExpressionAttributeValues: { ':yes': true, ':by': 'peer-accept' },
        },
      },
    ],
  },
];

describe('acceptRequest', () => {
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

  it('accepts a pending request in one transaction of both member items', async () => {
    ddb.on(GetCommand).resolves(aliceItem({ pendingRequest: true }));

    expect(frameOf(await acceptRequest(accept(), lambdaContext))).toEqual(ACK);

    expect(sentToDynamo()).toEqual([rateBucketUpdate('alice', 'acceptRequest'), memberRead, acceptance]);
  });

  it('acks a conversation that is no request (accepted, answered, the caller’s own) and writes nothing', async () => {
    ddb.on(GetCommand).resolves(aliceItem({ sent: true }));

    expect(frameOf(await acceptRequest(accept(), lambdaContext))).toEqual(ACK);

    expect(sentToDynamo()).toEqual([rateBucketUpdate('alice', 'acceptRequest'), memberRead]);
  });

  it('acks a request accepted by a concurrent retry between the read and the transaction', async () => {
    ddb.on(GetCommand).resolves(aliceItem({ pendingRequest: true }));
    ddb.on(TransactWriteCommand).rejects(cancelled(CONDITION_FAILED, NONE));

    expect(frameOf(await acceptRequest(accept(), lambdaContext))).toEqual(ACK);
  });

  it('refuses a non-member with the one refusal, after the one read', async () => {
    ddb.on(GetCommand).resolves({});

    expect(frameOf(await acceptRequest(accept(), lambdaContext))).toMatchObject({
      type: 'error',
      code: 'forbidden',
      action: 'acceptRequest',
    });
    expect(sentToDynamo()).toEqual([rateBucketUpdate('alice', 'acceptRequest'), memberRead]);
  });

  it('tries the transaction again when it meets a write in flight (delivery updates both items)', async () => {
    ddb.on(GetCommand).resolves(aliceItem({ pendingRequest: true }));
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled(CONFLICT, NONE)).resolves({});

    expect(frameOf(await acceptRequest(accept(), lambdaContext))).toEqual(ACK);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('answers internal when the transaction fails otherwise, so that the client retries', async () => {
    ddb.on(GetCommand).resolves(aliceItem({ pendingRequest: true }));
    ddb.on(TransactWriteCommand).rejects(cancelled(NONE, CONDITION_FAILED));

    expect(frameOf(await acceptRequest(accept(), lambdaContext))).toMatchObject({
      type: 'error',
      code: 'internal',
    });
  });

  it.each([
    ['a group id', { action: 'acceptRequest', conversationId: 'g_0123456789abcdef' }],
    ['no conversationId', { action: 'acceptRequest' }],
    ['a number', { action: 'acceptRequest', conversationId: 42 }],
    ['an empty id', { action: 'acceptRequest', conversationId: '' }],
  ])('refuses %s as bad_request before anything is read, written or counted', async (_, frame) => {
    const answer = frameOf(await acceptRequest(messageEvent(frame), lambdaContext));

    expect(answer).toMatchObject({ type: 'error', code: 'bad_request', action: 'acceptRequest' });
    expect(sentToDynamo()).toEqual([]);
  });

  it('refuses an id over the length limit as too_large before anything is read, written or counted', async () => {
    const answer = frameOf(await acceptRequest(accept(`dm_${'a'.repeat(300)}`), lambdaContext));

    expect(answer).toMatchObject({ type: 'error', code: 'too_large', action: 'acceptRequest' });
    expect(sentToDynamo()).toEqual([]);
  });
});
