/**
 * createConversation against DynamoDB Local: one group per (caller, clientRequestId) under concurrent
 * retries, a creation that failed half-way healed by its retry, and a group working everywhere a
 * direct conversation does (sendMessage, typing, markRead, membership).
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getMember } from '../../functions/adapters/member-store.ts';
import type { ConversationFrame } from '../../functions/domain/frames.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
import { handler as createConversation } from '../../functions/routes/create-conversation.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as typing } from '../../functions/routes/typing.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { connectEvent, lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { seedUserState, storedMessages } from '../support/seed.ts';

const managementApi = mockClient(ApiGatewayManagementApiClient);
afterAll(() => managementApi.restore());
beforeEach(() => {
  managementApi.reset();
  managementApi.on(PostToConnectionCommand).resolves({});
});
afterEach(() => {
  vi.restoreAllMocks();
});

type Route = typeof createConversation;

async function call(route: Route, frame: Record<string, unknown>, userId: string) {
  const response = await route(
    messageEvent(frame, { userId, connectionId: `${userId}-conn` }),
    lambdaContext,
  );
  return response.body === undefined ? undefined : (JSON.parse(response.body) as Record<string, unknown>);
}

const create = (userId: string, fields: Record<string, unknown>) =>
  call(createConversation, { action: 'createConversation', ...fields }, userId);

/** Every item of the test's own table of a type (a test may scan its table; the system never does). */
async function itemsOfType(type: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new ScanCommand({
        TableName: TABLE_NAME,
        FilterExpression: '#type = :type',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':type': type },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

async function memberIds(conversationId: string): Promise<string[]> {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :member)',
      ExpressionAttributeValues: { ':pk': `CONV#${conversationId}`, ':member': 'MEMBER#' },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => String(item.userId)).sort();
}

describe('createConversation idempotency', () => {
  it('creates one group for 20 concurrent retries of one clientRequestId, answering the same to all', async () => {
    // GIVEN one request, 12 members including the caller
    const clientRequestId = randomUUID();
    const others = Array.from({ length: 11 }, (_, i) => `racer-${i}`);
    const frame = { clientRequestId, members: others, title: 'Race' };

    // WHEN ann's client sends it 20 times at once
    const answers = await Promise.all(Array.from({ length: 20 }, () => create('ann', frame)));

    // THEN every answer is the same conversation frame
    expect(answers.map((answer) => answer?.type)).toEqual(Array(20).fill('conversation'));
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    const [first] = answers as unknown as ConversationFrame[];
    expect(first).toMatchObject({ kind: 'group', title: 'Race', members: ['ann', ...others].sort() });
    // AND the table holds exactly that one conversation, one receipt and its 12 members
    const conversations = (await itemsOfType('conversation')).filter((item) => item.createdBy === 'ann');
    expect(conversations.map((item) => item.conversationId)).toEqual([first?.conversationId]);
    expect(conversations[0]?.createdAt).toBe(first?.createdAt);
    const receipts = (await itemsOfType('createReceipt')).filter(
      (item) => item.clientRequestId === clientRequestId,
    );
    expect(receipts).toHaveLength(1);
    expect(await memberIds(String(first?.conversationId))).toEqual(['ann', ...others].sort());
  });

  it('answers a late retry with the first creation, and a new clientRequestId with a new group', async () => {
    const clientRequestId = randomUUID();
    const first = await create('bea', { clientRequestId, members: ['cid', 'dov'] });

    const retry = await create('bea', { clientRequestId, members: ['cid', 'dov', 'eli'], title: 'x' });
    const another = await create('bea', { clientRequestId: randomUUID(), members: ['cid', 'dov'] });

    expect(retry).toEqual(first);
    expect(another?.conversationId).not.toBe(first?.conversationId);
  });

  it('heals a creation that failed after its transaction when the client retries', async () => {
    // GIVEN the first attempt's put of gus's member item fails (the SDK's own retries exhausted)
    const clientRequestId = randomUUID();
    const frame = { clientRequestId, members: ['gus', 'hal'], title: 'Half done' };
    const send = dynamo.send.bind(dynamo);
    let failures = 0;
    vi.spyOn(dynamo, 'send').mockImplementation((async (command: unknown) => {
      // A member item is put in a transaction with the check that the group still lists the user.
      const input = (
        command as { input?: { TransactItems?: { Put?: { Item?: Record<string, unknown> } }[] } }
      ).input;
      const item = input?.TransactItems?.find((entry) => entry.Put !== undefined)?.Put?.Item;
      if (command instanceof TransactWriteCommand && item?.type === 'member' && item.userId === 'gus') {
        if (failures++ === 0) {
          throw new ProvisionedThroughputExceededException({
            message: 'Throughput exceeded',
            $metadata: { httpStatusCode: 400 },
          });
        }
      }
      return send(command as never);
    }) as typeof dynamo.send);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);

    // WHEN the first attempt answers internal
    const failed = await create('fay', frame);
    expect(failed).toMatchObject({ type: 'error', code: 'internal', clientRequestId });
    const [conversation] = (await itemsOfType('conversation')).filter((item) => item.createdBy === 'fay');
    const conversationId = String(conversation?.conversationId);
    expect(await memberIds(conversationId)).toEqual(['fay', 'hal']);
    // AND meanwhile hal has read the group's first message
    await call(
      sendMessage,
      { action: 'sendMessage', conversationId, clientMessageId: randomUUID(), content: 'hi' },
      'fay',
    );
    await call(markRead, { action: 'markRead', conversationId, seq: 1 }, 'hal');

    // AND the client retries with the same clientRequestId
    const healed = await create('fay', frame);

    // THEN it answers the first creation, every member item exists, and hal's cursor was not reset
    expect(healed).toEqual({
      type: 'conversation',
      conversationId,
      kind: 'group',
      members: ['fay', 'gus', 'hal'],
      title: 'Half done',
      createdAt: conversation?.createdAt,
    });
    expect(await memberIds(conversationId)).toEqual(['fay', 'gus', 'hal']);
    expect(await getMember(conversationId, 'hal')).toMatchObject({ readSeq: 1 });
    expect(await getMember(conversationId, 'gus')).toMatchObject({ readSeq: 0, lastSeq: 0 });
  });

  it('refuses a group with a deactivated member and stores nothing', async () => {
    await seedUserState('mal', { deactivated: true });
    const clientRequestId = randomUUID();

    const answer = await create('ivy', { clientRequestId, members: ['jon', 'mal'] });

    // Errors name nobody and say no why (protocol.md 1.2).
    expect(answer).toMatchObject({
      type: 'error',
      code: 'forbidden',
      message: 'members: some members cannot be added',
    });
    expect((await itemsOfType('conversation')).filter((item) => item.createdBy === 'ivy')).toEqual([]);
    expect(
      (await itemsOfType('createReceipt')).filter((item) => item.clientRequestId === clientRequestId),
    ).toEqual([]);
  });

  it('creates a group of 100 members', async () => {
    const others = Array.from({ length: 99 }, (_, i) => `hundred-${String(i).padStart(2, '0')}`);

    const answer = await create('kim', { clientRequestId: randomUUID(), members: others });

    expect(answer).toMatchObject({ type: 'conversation', kind: 'group', title: null });
    expect(await memberIds(String(answer?.conversationId))).toEqual(['kim', ...others].sort());
  });
});

describe('a group works everywhere a direct conversation does', () => {
  it('takes messages, typing and read cursors from members, and refuses a non-member', async () => {
    // GIVEN a group of three, each member connected once, and an outsider
    for (const userId of ['lea', 'max', 'ned', 'oz']) {
      await connect(connectEvent({ userId, connectionId: `${userId}-conn` }), lambdaContext);
    }
    const group = await create('lea', { clientRequestId: randomUUID(), members: ['max', 'ned'] });
    const conversationId = String(group?.conversationId);

    // WHEN lea writes, max types and ned reads
    const ack = await call(
      sendMessage,
      { action: 'sendMessage', conversationId, clientMessageId: randomUUID(), content: 'hello group' },
      'lea',
    );
    await call(typing, { action: 'typing', conversationId, state: 'start' }, 'max');
    const read = await call(markRead, { action: 'markRead', conversationId, seq: 1 }, 'ned');

    // THEN the message is stored with seq 1, typing went to the other two members only
    expect(ack).toMatchObject({ type: 'ack', conversationId, seq: 1, duplicate: false });
    expect((await storedMessages(conversationId)).map((item) => item.content)).toEqual(['hello group']);
    const typedTo = managementApi
      .commandCalls(PostToConnectionCommand)
      .map((posted) => posted.args[0].input.ConnectionId)
      .sort();
    expect(typedTo).toEqual(['lea-conn', 'ned-conn']);
    // AND ned's cursor moved (the stream delivers the read frame, so markRead answers nothing)
    expect(read).toBeUndefined();
    expect(await getMember(conversationId, 'ned')).toMatchObject({ readSeq: 1 });

    // AND the outsider is refused everywhere, as for a conversation that does not exist
    managementApi.resetHistory();
    const outsider = [
      await call(
        sendMessage,
        { action: 'sendMessage', conversationId, clientMessageId: randomUUID(), content: 'let me in' },
        'oz',
      ),
      await call(typing, { action: 'typing', conversationId, state: 'start' }, 'oz'),
      await call(markRead, { action: 'markRead', conversationId, seq: 1 }, 'oz'),
    ];
    for (const answer of outsider) {
      expect(answer).toMatchObject({
        type: 'error',
        code: 'forbidden',
        message: 'not a member of this conversation',
      });
    }
    expect(managementApi).not.toHaveReceivedCommand(PostToConnectionCommand);
    expect(await storedMessages(conversationId)).toHaveLength(1);
  });
});
