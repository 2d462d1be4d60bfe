/**
 * Guarantee 4 of architecture.md against DynamoDB Local: a 410 during delivery deletes exactly that
 * connection item, the other recipients still get the message, and the record does not fail. Only the
 * management API is mocked; every DynamoDB read and write is real.
 */
import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberItem } from '../../functions/adapters/conversation-store.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { handler } from '../../functions/stream/delivery.ts';
import { postedFrames } from '../support/delivery-mocks.ts';
import { messageInsert, streamEvent } from '../support/stream-events.ts';

const api = mockClient(ApiGatewayManagementApiClient);

const CONVERSATION = 'g_weekend_trip';
const ORIGIN = 'KxA1aaa1DoECAAA=';
const ALICE_TABLET = 'KxA1bbb2DoECBBB=';
const BOB_GONE = 'KxA1ccc3DoECCCC=';
const CAROL_PHONE = 'KxA1ddd4DoECDDD=';
const CONNECTIONS = [
  { userId: 'alice', connectionId: ORIGIN },
  { userId: 'alice', connectionId: ALICE_TABLET },
  { userId: 'bob', connectionId: BOB_GONE },
  { userId: 'carol', connectionId: CAROL_PHONE },
];

const MESSAGE = {
  ...keys.message(CONVERSATION, 7),
  type: 'message',
  conversationId: CONVERSATION,
  seq: 7,
  messageId: '01JDB6C2D4E6F8G0H2J4K6M8N0',
  senderId: 'alice',
  senderName: 'Alice Martin',
  content: 'Train leaves at 8:15, platform 4.',
  createdAt: '2026-11-23T10:30:05.123Z',
  clientMessageId: '0c9e8d7f-6a5b-4c3d-9e2f-1a0b9c8d7e6f',
  originConnectionId: ORIGIN,
};

const put = (Item: Record<string, unknown>) => dynamo.send(new PutCommand({ TableName: TABLE_NAME, Item }));

async function connectionIdsOf(userId: string): Promise<string[]> {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :conn)',
      ExpressionAttributeValues: { ':pk': `USER#${userId}`, ':conn': 'CONN#' },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => String(item.connectionId));
}

async function member(userId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.member(CONVERSATION, userId), ConsistentRead: true }),
  );
  return Item;
}

describe('delivery when one connection answers 410', () => {
  beforeAll(async () => {
    // GIVEN a group of three, four open connections, and the committed message
    const createdAt = '2026-11-23T09:00:00.000Z';
    const members = ['alice', 'bob', 'carol'];
    await put({
      ...keys.conversation(CONVERSATION),
      type: 'conversation',
      conversationId: CONVERSATION,
      kind: 'group',
      members,
      title: 'Weekend trip',
      createdAt,
    });
    const listed = { conversationId: CONVERSATION, kind: 'group' as const, members, title: 'Weekend trip' };
    await Promise.all(members.map((userId) => put(memberItem(listed, userId, createdAt))));
    await Promise.all(
      CONNECTIONS.map(({ userId, connectionId }) =>
        put({
          ...keys.connection(userId, connectionId),
          type: 'connection',
          connectionId,
          userId,
          connectedAt: createdAt,
          expiresAt: 1795440800,
        }),
      ),
    );
    await put(MESSAGE);
    // bob's connection closed without $disconnect: API Gateway answers 410
    api.on(PostToConnectionCommand).resolves({});
    api
      .on(PostToConnectionCommand, { ConnectionId: BOB_GONE })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));
  });

  afterAll(() => {
    api.restore();
  });

  it('deletes exactly the gone connection, delivers to the others and succeeds', async () => {
    // WHEN the stream hands the message's INSERT record to the delivery Lambda
    const result = await handler(streamEvent(messageInsert(MESSAGE, '4421584700000000017450441000')));

    // THEN the record succeeded
    expect(result).toEqual({ batchItemFailures: [] });
    // AND only bob's gone connection item was deleted
    expect(await connectionIdsOf('bob')).toEqual([]);
    expect((await connectionIdsOf('alice')).sort()).toEqual([ALICE_TABLET, ORIGIN].sort());
    expect(await connectionIdsOf('carol')).toEqual([CAROL_PHONE]);
    // AND every connection but the sending one was posted the message frame
    const frames = postedFrames(api, 'message');
    expect([...frames.keys()].sort()).toEqual([ALICE_TABLET, BOB_GONE, CAROL_PHONE].sort());
    const expected = {
      type: 'message',
      conversationId: CONVERSATION,
      messageId: MESSAGE.messageId,
      seq: 7,
      senderId: 'alice',
      content: MESSAGE.content,
      createdAt: MESSAGE.createdAt,
      clientMessageId: MESSAGE.clientMessageId,
      version: 7_000_000,
    };
    expect(frames.get(ALICE_TABLET)).toEqual(expected);
    expect(frames.get(CAROL_PHONE)).toEqual(expected);
    // AND alice's connections, the sending one too, heard that carol got it (bob's was gone)
    const delivered = postedFrames(api, 'delivered');
    expect([...delivered.keys()].sort()).toEqual([ALICE_TABLET, ORIGIN].sort());
    expect(delivered.get(ORIGIN)).toMatchObject({ conversationId: CONVERSATION, userId: 'carol', seq: 7 });
    // AND the message counts as unread for the recipients, not for the sender
    expect(await member('bob')).toMatchObject({
      lastSeq: 7,
      readSeq: 0,
      unreadOwner: 'bob',
      changedBy: 'delivery',
    });
    expect(await member('carol')).toMatchObject({ lastSeq: 7, unreadOwner: 'carol' });
    const alice = await member('alice');
    // The sender's own message: nothing unread for her, and she read up to it (sending reads, 1.2).
    expect(alice).toMatchObject({ lastSeq: 0, readSeq: 7, changedBy: 'implicit-read' });
    expect(alice).not.toHaveProperty('unreadOwner');
  });
});
