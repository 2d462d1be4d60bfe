/**
 * Delivery receipts against DynamoDB Local: the recipient's delivered cursor moves with the write that
 * counts the message (no extra write), only when a connection of theirs took the frame, never back,
 * and a retried record whose first attempt did not reach the recipient still moves it. The sender's
 * connections get one `delivered` per recipient per batch. Only the management API is mocked.
 */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { handler } from '../../functions/stream/delivery.ts';
import { postedCalls } from '../support/delivery-mocks.ts';
import { seedGroupConversation } from '../support/seed.ts';
import { messageInsert, streamEvent } from '../support/stream-events.ts';

const api = mockClient(ApiGatewayManagementApiClient);
const CONVERSATION = 'g_receipts';
const ALICE_PHONE = 'RcA1aaa1DoECAAA=';
const BOB_PHONE = 'RcA1bbb2DoECBBB=';

const put = (Item: Record<string, unknown>) => dynamo.send(new PutCommand({ TableName: TABLE_NAME, Item }));

const message = (seq: number) => ({
  ...keys.message(CONVERSATION, seq),
  type: 'message',
  conversationId: CONVERSATION,
  seq,
  messageId: `01JDBRECE1PT000000000000${String(seq).padStart(2, '0')}`,
  senderId: 'alice',
  senderName: 'Alice',
  content: `message ${seq}`,
  createdAt: '2026-12-01T18:00:00.000Z',
  clientMessageId: `receipt-${seq}`,
  originConnectionId: ALICE_PHONE,
});
const record = (seq: number) =>
  messageInsert(message(seq), `44215849000000000174504430${String(seq).padStart(2, '0')}`);

async function bob(): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.member(CONVERSATION, 'bob'), ConsistentRead: true }),
  );
  return Item;
}

describe('the delivered cursor', () => {
  beforeAll(async () => {
    await seedGroupConversation(CONVERSATION, ['alice', 'bob']);
    for (const [userId, connectionId] of [
      ['alice', ALICE_PHONE],
      ['bob', BOB_PHONE],
    ] as const) {
      await put({
        ...keys.connection(userId, connectionId),
        type: 'connection',
        connectionId,
        userId,
        connectedAt: '2026-12-01T17:00:00.000Z',
      });
    }
    for (const seq of [1, 2, 3, 4]) await put(message(seq));
  });

  afterEach(() => {
    api.reset();
  });

  it('moves with the unread write when bob’s connection takes the message, and alice hears of it once', async () => {
    api.on(PostToConnectionCommand).resolves({});

    const result = await handler(streamEvent(record(1), record(2)));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(await bob()).toMatchObject({ lastSeq: 2, deliveredSeq: 2 });
    const delivered = postedCalls(api, 'delivered');
    expect(delivered).toEqual([
      {
        connectionId: ALICE_PHONE,
        frame: expect.objectContaining({ userId: 'bob', seq: 2, conversationId: CONVERSATION }),
      },
    ]);
  });

  it('does not move when no connection of bob’s took the message', async () => {
    // GIVEN bob's connection is inside $connect for every attempt of seq 3 (a young item answering 410)
    await put({
      ...keys.connection('bob', BOB_PHONE),
      type: 'connection',
      connectionId: BOB_PHONE,
      userId: 'bob',
      connectedAt: new Date().toISOString(),
    });
    api.on(PostToConnectionCommand).resolves({});
    api
      .on(PostToConnectionCommand, { ConnectionId: BOB_PHONE })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    const first = await handler(streamEvent(record(3)));

    // THEN the message is counted (unread) but not delivered, and the record is retried
    expect(first.batchItemFailures).toHaveLength(1);
    expect(await bob()).toMatchObject({ lastSeq: 3, deliveredSeq: 2 });
    expect(postedCalls(api, 'delivered')).toEqual([]);

    // WHEN the retry reaches his now open connection
    api.reset();
    api.on(PostToConnectionCommand).resolves({});
    const retry = await handler(streamEvent(record(3)));

    // THEN only the delivered cursor moves, and alice hears of it
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(await bob()).toMatchObject({ lastSeq: 3, deliveredSeq: 3 });
    expect(postedCalls(api, 'delivered').map(({ frame }) => frame.seq)).toEqual([3]);
  });

  it('never moves back when an older record arrives late', async () => {
    api.on(PostToConnectionCommand).resolves({});

    await handler(streamEvent(record(4)));
    await handler(streamEvent(record(1)));

    expect(await bob()).toMatchObject({ lastSeq: 4, deliveredSeq: 4 });
  });
});
