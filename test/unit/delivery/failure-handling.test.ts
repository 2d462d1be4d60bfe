/**
 * How the delivery Lambda settles failures (functions/stream/delivery.ts, settle.ts): a poison record
 * is recorded and skipped without holding its shard, a transient failure retries only its own record
 * (and the later records of its conversation), retries are bounded by delivery itself and end in the
 * on-failure queue with the message's identity, a connection inside `$connect` is kept and reached,
 * and the per-user fan-out caps hold.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DELIVERY_STREAM } from '../../../definitions/stream.ts';
import { handler } from '../../../functions/stream/delivery.ts';
import {
  mockConversation,
  mockFailedAttempts,
  mockFailureTopic,
  mockUsers,
  postedCalls,
  queuedFailures,
} from '../../support/delivery-mocks.ts';
import { messageInsert, streamEvent } from '../../support/stream-events.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const api = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);

const BOB_PHONE = 'CfQ3dXy2DoECKbQ=';
const CAROL_PHONE = 'CfQ3fZz9DoECMdA=';
const forbidden = () => new ForbiddenException({ message: 'Forbidden', $metadata: { httpStatusCode: 403 } });
const serverError = () =>
  Object.assign(new Error('Internal server error'), {
    name: 'InternalServerErrorException',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });
const gone = () => new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } });

/** A message of `conversationId` (to bob or carol), on its own stream sequence number. */
const message = (conversationId: string, seq: number, sequenceNumber: string) =>
  messageInsert({ conversationId, seq, messageId: `m-${conversationId}-${seq}` }, sequenceNumber);

/** The user's partition with these connections, each connected at the given instant. */
function mockConnections(
  userId: string,
  connections: { id: string; at: string; storedAt?: string }[],
  devices = 0,
): void {
  const pk = `USER#${userId}`;
  const items: Record<string, unknown>[] = connections.map(({ id, at, storedAt }) => ({
    PK: pk,
    SK: `CONN#${id}`,
    type: 'connection',
    connectionId: id,
    userId,
    connectedAt: at,
    ...(storedAt !== undefined && { storedAt }),
  }));
  for (let i = 0; i < devices; i++) {
    items.push({
      PK: pk,
      SK: `DEVICE#dev-${i}`,
      type: 'device',
      userId,
      deviceId: `dev-${i}`,
      platform: 'apns',
      token: `${i}`.padStart(64, 'a'),
      endpointArn: `arn:aws:sns:eu-west-1:123456789012:endpoint/APNS/parley/dev-${i}`,
      // dev-0 is the oldest registration
      registeredAt: new Date(Date.UTC(2026, 10, 1, 12, i)).toISOString(),
    });
  }
  ddb.on(QueryCommand, { ExpressionAttributeValues: { ':pk': pk } }).resolves({ Items: items });
}

beforeEach(() => {
  mockConversation(ddb, 'd_alice_bob', ['alice', 'bob']);
  mockConversation(ddb, 'd_alice_carol', ['alice', 'carol']);
  mockUsers(ddb, {
    alice: { connections: [] },
    bob: { connections: [BOB_PHONE] },
    carol: { connections: [CAROL_PHONE] },
  });
  // The recipients' list entries (the message counted, unread) and the sender's (read by sending it).
  ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#bob' } }).resolves({ Attributes: { lastSeq: 7, readSeq: 0 } });
  ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#carol' } }).resolves({ Attributes: { lastSeq: 7, readSeq: 0 } });
  ddb.on(UpdateCommand, { Key: { SK: 'MEMBER#alice' } }).resolves({ Attributes: { lastSeq: 0, readSeq: 7 } });
  ddb.on(QueryCommand, { IndexName: 'unread' }).resolves({ Items: [] });
  api.on(PostToConnectionCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'p-1' });
});

afterEach(() => {
  ddb.reset();
  api.reset();
  sns.reset();
});

describe('a poison record', () => {
  it('is recorded by message identity and skipped, while the rest of its batch is delivered', async () => {
    // GIVEN bob's connection always answers 403, in the first of two records of one batch
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejects(forbidden());

    // WHEN
    const result = await handler(
      streamEvent(
        message('d_alice_bob', 7, '100000000000000000001'),
        message('d_alice_carol', 3, '100000000000000000002'),
      ),
    );

    // THEN nothing is retried, carol got her message, and the queue holds only the poison record
    expect(result).toEqual({ batchItemFailures: [] });
    expect(postedCalls(api).filter(({ connectionId }) => connectionId === CAROL_PHONE)).toHaveLength(1);
    expect(queuedFailures(sns)).toEqual([
      {
        version: 1,
        source: 'parley.delivery',
        class: 'permanent',
        kind: 'message',
        conversationId: 'd_alice_bob',
        seq: 7,
        messageId: 'm-d_alice_bob-7',
        recipients: ['bob'],
        failures: [
          {
            userId: 'bob',
            connectionId: BOB_PHONE,
            class: 'permanent',
            error: 'ForbiddenException',
            status: 403,
          },
        ],
        attempts: 1,
        eventId: expect.any(String),
        recordedAt: expect.any(String),
      },
    ]);
  });
});

describe('a transient failure', () => {
  it('reports only its record, holds the later records of its conversation and delivers the others', async () => {
    // GIVEN bob's connection fails with a 500 on seq 7
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejects(serverError());
    mockFailedAttempts(ddb, 1);

    // WHEN seq 7 and 8 of alice–bob and seq 3 of alice–carol come in one batch
    const result = await handler(
      streamEvent(
        message('d_alice_bob', 7, '200000000000000000001'),
        message('d_alice_bob', 8, '200000000000000000002'),
        message('d_alice_carol', 3, '200000000000000000003'),
      ),
    );

    // THEN only seq 7 is reported (Lambda retries from it), seq 8 waits for it, carol is not held up
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '200000000000000000001' }] });
    expect(postedCalls(api).map(({ frame }) => `${frame.conversationId}:${frame.seq}`)).toEqual([
      'd_alice_bob:7',
      'd_alice_carol:3',
    ]);
    expect(queuedFailures(sns)).toEqual([]);
  });

  it(`is given up after ${DELIVERY_STREAM.deliveryAttempts} attempts: recorded, not retried further`, async () => {
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejects(serverError());
    mockFailedAttempts(ddb, DELIVERY_STREAM.deliveryAttempts);

    const result = await handler(streamEvent(message('d_alice_bob', 7, '300000000000000000001')));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(queuedFailures(sns)).toEqual([
      expect.objectContaining({
        class: 'gave_up',
        conversationId: 'd_alice_bob',
        seq: 7,
        recipients: ['bob'],
        attempts: DELIVERY_STREAM.deliveryAttempts,
        failures: [
          {
            userId: 'bob',
            connectionId: BOB_PHONE,
            class: 'transient',
            error: 'InternalServerErrorException',
            status: 500,
          },
        ],
      }),
    ]);
  });

  it('keeps retrying the record while the on-failure queue cannot take it', async () => {
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejects(forbidden());
    mockFailureTopic(sns, serverError());

    const result = await handler(streamEvent(message('d_alice_bob', 7, '400000000000000000001')));

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '400000000000000000001' }] });
  });
});

describe('a record an operator’s redrive rebuilt (eventID `redrive:…`)', () => {
  const redriven = (sequenceNumber: string) => ({
    ...message('d_alice_bob', 7, sequenceNumber),
    eventID: 'redrive:6b1f0c2e',
  });
  const attemptsCounted = () =>
    ddb.commandCalls(UpdateCommand).filter((call) => call.args[0].input.Key?.SK === 'ATTEMPTS');

  it('is reported, not recorded in the queue again, when a target fails for good', async () => {
    // GIVEN bob's connection still answers 403
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejects(forbidden());

    // WHEN the redrive runs delivery on it
    const result = await handler(streamEvent(redriven('1')));

    // THEN the tool sees the failure (its entry stays), and no second entry is recorded
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
    expect(queuedFailures(sns)).toEqual([]);
    expect(attemptsCounted()).toEqual([]);
  });

  it('is reported without counting an attempt when a target fails transiently', async () => {
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejects(serverError());
    mockFailedAttempts(ddb, DELIVERY_STREAM.deliveryAttempts);

    const result = await handler(streamEvent(redriven('1')));

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
    expect(queuedFailures(sns)).toEqual([]);
    expect(attemptsCounted()).toEqual([]);
  });

  it('is done when every target was reached', async () => {
    const result = await handler(streamEvent(redriven('1')));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(postedCalls(api).map(({ connectionId }) => connectionId)).toEqual([BOB_PHONE]);
  });
});

describe('the time budget', () => {
  it('leaves records it has no time for to a retry instead of timing out mid-batch', async () => {
    const result = await handler(streamEvent(message('d_alice_bob', 7, '500000000000000000001')), {
      getRemainingTimeInMillis: () => 5_000,
    });

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '500000000000000000001' }] });
    expect(api).not.toHaveReceivedCommand(PostToConnectionCommand);
  });
});

describe('a connection inside the $connect window', () => {
  const justNow = () => new Date(Date.now() - 1_000).toISOString();

  it('is posted again after a moment rather than deleted, and gets the message', async () => {
    // GIVEN bob connected a second ago; API Gateway answers 410 until his $connect returns
    mockConnections('bob', [{ id: BOB_PHONE, at: justNow() }]);
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejectsOnce(gone()).resolves({});

    const result = await handler(streamEvent(message('d_alice_bob', 7, '600000000000000000001')));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 2);
    expect(ddb).not.toHaveReceivedCommandWith(DeleteCommand, { Key: { SK: `CONN#${BOB_PHONE}` } });
  });

  it('is kept, and the record retried, while it still answers 410; no push meanwhile', async () => {
    mockConnections('bob', [{ id: BOB_PHONE, at: justNow() }], 1);
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejects(gone());
    mockFailedAttempts(ddb, 1);

    const result = await handler(streamEvent(message('d_alice_bob', 7, '700000000000000000001')));

    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: '700000000000000000001' }] });
    expect(ddb).not.toHaveReceivedCommandWith(DeleteCommand, { Key: { SK: `CONN#${BOB_PHONE}` } });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('is gone 5 s after $connect stored it, though its upgrade began under 30 s ago', async () => {
    // GIVEN bob's upgrade began 8 s ago and $connect stored his item 6 s ago: the socket had time to
    // open, so a 410 now means it was lost (a network cut right after connecting)
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    mockConnections('bob', [{ id: BOB_PHONE, at: ago(8_000), storedAt: ago(6_000) }], 1);
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejects(gone());

    const result = await handler(streamEvent(message('d_alice_bob', 7, '810000000000000000001')));

    // THEN the item goes at once, the record is done, and bob, now offline, gets the push
    expect(result).toEqual({ batchItemFailures: [] });
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { PK: 'USER#bob', SK: `CONN#${BOB_PHONE}` },
    });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('is still connecting within 5 s of $connect storing it', async () => {
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    mockConnections('bob', [{ id: BOB_PHONE, at: ago(3_000), storedAt: ago(1_000) }]);
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejectsOnce(gone()).resolves({});

    const result = await handler(streamEvent(message('d_alice_bob', 7, '820000000000000000001')));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 2);
    expect(ddb).not.toHaveReceivedCommandWith(DeleteCommand, { Key: { SK: `CONN#${BOB_PHONE}` } });
  });

  it('is deleted once it is older than the window', async () => {
    mockConnections('bob', [{ id: BOB_PHONE, at: new Date(Date.now() - 60_000).toISOString() }]);
    api.on(PostToConnectionCommand, { ConnectionId: BOB_PHONE }).rejects(gone());

    const result = await handler(streamEvent(message('d_alice_bob', 7, '800000000000000000001')));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { PK: 'USER#bob', SK: `CONN#${BOB_PHONE}` },
    });
  });
});

describe('the per-user fan-out caps', () => {
  it('posts to the 20 newest of 30 connections and closes and forgets the 10 oldest', async () => {
    // GIVEN bob with 30 connections, c00 the oldest
    const connections = Array.from({ length: 30 }, (_, i) => ({
      id: `c${String(i).padStart(2, '0')}`,
      at: new Date(Date.UTC(2026, 10, 20, 8, i)).toISOString(),
    }));
    mockConnections('bob', connections);
    ddb.on(DeleteCommand).resolves({});
    api.on(DeleteConnectionCommand).resolves({});

    const result = await handler(streamEvent(message('d_alice_bob', 7, '900000000000000000001')));

    expect(result).toEqual({ batchItemFailures: [] });
    const posted = postedCalls(api).map(({ connectionId }) => connectionId);
    expect(posted.sort()).toEqual(connections.slice(10).map(({ id }) => id));
    const closed = api.commandCalls(DeleteConnectionCommand).map((call) => call.args[0].input.ConnectionId);
    expect(closed.sort()).toEqual(connections.slice(0, 10).map(({ id }) => id));
    for (const { id } of connections.slice(0, 10)) {
      expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { Key: { PK: 'USER#bob', SK: `CONN#${id}` } });
    }
  });

  it('pushes to the 10 most recently registered of 12 devices and removes the 2 oldest', async () => {
    mockConnections('bob', [], 12);
    ddb.on(DeleteCommand).resolves({});
    ddb.on(PutCommand).resolves({});

    const result = await handler(streamEvent(message('d_alice_bob', 7, '910000000000000000001')));

    expect(result).toEqual({ batchItemFailures: [] });
    const pushed = sns
      .commandCalls(PublishCommand)
      .map((call) => call.args[0].input.TargetArn?.split('/').at(-1));
    expect(pushed.sort()).toEqual([
      'dev-10',
      'dev-11',
      'dev-2',
      'dev-3',
      'dev-4',
      'dev-5',
      'dev-6',
      'dev-7',
      'dev-8',
      'dev-9',
    ]);
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { Key: { PK: 'USER#bob', SK: 'DEVICE#dev-0' } });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, { Key: { PK: 'USER#bob', SK: 'DEVICE#dev-1' } });
  });
});
