/**
 * Protocol 1.2, "a group is whole for every member", against DynamoDB Local: a member whose item a
 * failed creation never wrote (the group lists them, their member item is missing) can sync, mark read,
 * see and leave the group: their first conversation-scoped action, or the delivery of the group's next
 * message to them, puts the item. Someone the group does not list gets nothing of the kind.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { handler as delivery } from '../../functions/stream/delivery.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { seedGroupConversation } from '../support/seed.ts';
import { messageInsert, streamEvent } from '../support/stream-events.ts';

const managementApi = mockClient(ApiGatewayManagementApiClient);
afterAll(() => managementApi.restore());
beforeEach(() => {
  managementApi.reset();
  managementApi.on(PostToConnectionCommand).resolves({});
});

type Frame = Record<string, unknown>;

async function call(route: typeof sync, frame: Frame, userId: string): Promise<Frame> {
  const response = await route(messageEvent(frame, { userId }), lambdaContext);
  return JSON.parse(response.body ?? '{}') as Frame;
}

async function memberItem(conversationId: string, userId: string) {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.member(conversationId, userId), ConsistentRead: true }),
  );
  return Item;
}

/** A group whose creation stopped before `missing`'s member item was written. */
async function halfCreatedGroup(missing: string): Promise<{ id: string; members: string[] }> {
  const suffix = randomUUID().slice(0, 8);
  const members = ['ann', 'ben', 'cat'].map((name) => `${name}-${suffix}`);
  const id = `grp-whole-${suffix}`;
  await seedGroupConversation(id, members);
  const userId = members.find((member) => member.startsWith(missing)) as string;
  await dynamo.send(new DeleteCommand({ TableName: TABLE_NAME, Key: keys.member(id, userId) }));
  return { id, members };
}

const listed = async (userId: string): Promise<string[]> =>
  ((await call(sync, { action: 'sync' }, userId)).conversations as { conversationId: string }[]).map(
    (entry) => entry.conversationId,
  );

describe('a group is whole for every member (protocol 1.2)', () => {
  it('lets a member whose item was never written sync and mark read: the first action puts it', async () => {
    const { id, members } = await halfCreatedGroup('cat');
    const [ann, , cat] = members as [string, string, string];
    await call(
      sendMessage,
      { action: 'sendMessage', conversationId: id, clientMessageId: 'w-1', content: 'hi' },
      ann,
    );

    expect(await call(sync, { action: 'sync', conversationId: id }, cat)).toMatchObject({
      type: 'messages',
      messages: [expect.objectContaining({ seq: 1 })],
    });
    expect(await memberItem(id, cat)).toMatchObject({ userId: cat, memberOf: cat, readSeq: 0 });
    expect(await call(markRead, { action: 'markRead', conversationId: id, seq: 1 }, cat)).not.toMatchObject({
      type: 'error',
    });
    expect(await listed(cat)).toContain(id);
  });

  it('puts the item when the group’s next message is delivered to them, so the group is in their list', async () => {
    const { id, members } = await halfCreatedGroup('ben');
    const [ann, ben] = members as [string, string, string];
    const ack = await call(
      sendMessage,
      { action: 'sendMessage', conversationId: id, clientMessageId: 'w-2', content: 'hello' },
      ann,
    );
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: keys.message(id, Number(ack.seq)), ConsistentRead: true }),
    );
    expect(await delivery(streamEvent(messageInsert(Item as Frame)))).toEqual({ batchItemFailures: [] });

    expect(await memberItem(id, ben)).toMatchObject({ lastSeq: 1, unreadOwner: ben });
    expect(await listed(ben)).toContain(id);
  });

  it('puts nothing for someone the group does not list, and answers them as any non-member', async () => {
    const { id } = await halfCreatedGroup('cat');
    const stranger = `eve-${randomUUID().slice(0, 8)}`;
    expect(await call(sync, { action: 'sync', conversationId: id }, stranger)).toMatchObject({
      type: 'error',
      code: 'forbidden',
    });
    expect(await memberItem(id, stranger)).toBeUndefined();
  });
});
