/**
 * Blocks against DynamoDB Local with the real handlers (protocol.md 1.2, "Block"; architecture.md
 * guarantee 12): what a blocked user can no longer do, what reaches the blocker (hidden messages, no
 * typing, receipts or presence either way), the list and `sync` of both, the 1000-block limit, and the
 * race: a message committed after the ack (a send that passed its check just before) never reaches the
 * blocker whole, live or in `sync`.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_BLOCKS } from '../../functions/adapters/block-store.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { commitMessage } from '../../functions/adapters/message-store.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { handler as block } from '../../functions/routes/block.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
import { handler as createConversation } from '../../functions/routes/create-conversation.ts';
import { handler as listBlocks } from '../../functions/routes/list-blocks.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { handler as typing } from '../../functions/routes/typing.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { connectEvent, lambdaContext } from '../../local/harness/ws-events.ts';
import {
  callAs as call,
  deliverRecords,
  type Frame,
  readItem,
  uniqueUsers as users,
} from '../support/route-calls.ts';
import { messageInsert, readModify } from '../support/stream-events.ts';

const managementApi = mockClient(ApiGatewayManagementApiClient);
afterAll(() => managementApi.restore());
beforeEach(() => {
  managementApi.reset();
  managementApi.on(PostToConnectionCommand).resolves({});
});

async function online(...userIds: string[]): Promise<void> {
  for (const userId of userIds) {
    await connect(connectEvent({ userId, connectionId: `${userId}-phone` }), lambdaContext);
  }
}

const send = (from: string, target: Frame, content = 'hello') =>
  call(sendMessage, { action: 'sendMessage', clientMessageId: randomUUID(), content, ...target }, from);
const blockUser = (blocker: string, userId: string, on = true) =>
  call(block, { action: 'block', userId, on }, blocker);

const stored = readItem;

const deliver = (...records: DynamoDBRecord[]) => deliverRecords(managementApi, ...records);

const messageRecord = async (conversationId: string, seq: number) =>
  messageInsert((await stored(keys.message(conversationId, seq))) ?? {});

async function group(creator: string, members: string[]): Promise<string> {
  const created = await call(
    createConversation,
    { action: 'createConversation', clientRequestId: randomUUID(), members, title: 'Climbing' },
    creator,
  );
  expect(created).toMatchObject({ type: 'conversation' });
  return String(created?.conversationId);
}

async function listOf(userId: string): Promise<Frame[]> {
  const answer = await call(sync, { action: 'sync' }, userId);
  return answer?.conversations as Frame[];
}

async function messagesOf(userId: string, conversationId: string): Promise<Frame[]> {
  const answer = await call(sync, { action: 'sync', conversationId }, userId);
  return answer?.messages as Frame[];
}

const REFUSED_DIRECT = {
  type: 'error',
  code: 'forbidden',
  action: 'sendMessage',
  message: 'you cannot send messages to this user',
};

describe('a blocked user', () => {
  it('cannot write to the blocker, whichever way the conversation is named, and nothing is stored', async () => {
    // GIVEN ada and ben talk, then ada blocks ben
    const [ada, ben] = users('ada', 'ben');
    const ack = await send(ben, { to: ada });
    const direct = String(ack?.conversationId);
    expect(await blockUser(ada, ben)).toEqual({ type: 'ack', action: 'block' });

    // WHEN ben writes again, by `to` and by the conversation's id
    const byTo = await send(ben, { to: ada });
    const byId = await send(ben, { conversationId: direct });

    // THEN both are refused in the words a deactivated recipient gets, and only the first message exists
    expect(byTo).toMatchObject({ ...REFUSED_DIRECT, clientMessageId: expect.any(String) });
    expect(byId).toMatchObject(REFUSED_DIRECT);
    expect(await stored(keys.message(direct, 2))).toBeUndefined();
    // ada may still write to him (her choice); he learns nothing from his own list
    expect(await send(ada, { to: ben })).toMatchObject({ type: 'ack', seq: 2 });
    const [bensEntry] = await listOf(ben);
    expect(bensEntry).not.toHaveProperty('blocked');

    // WHEN ada unblocks him THEN he can write again, and nothing he tried before was kept
    expect(await blockUser(ada, ben, false)).toEqual({ type: 'ack', action: 'block' });
    expect(await send(ben, { to: ada })).toMatchObject({ type: 'ack', seq: 3 });
  });

  it('cannot start a conversation with the blocker: no conversation is created', async () => {
    const [ada, ben] = users('ada', 'ben');
    expect(await blockUser(ada, ben)).toEqual({ type: 'ack', action: 'block' });

    expect(await send(ben, { to: ada })).toMatchObject(REFUSED_DIRECT);
    expect(await stored(keys.conversation(directConversationId(ada, ben)))).toBeUndefined();
  });

  it('cannot put the blocker in a group, told only that some members cannot be added', async () => {
    const [ada, ben, cy] = users('ada', 'ben', 'cy');
    await blockUser(ada, ben);

    const refused = await call(
      createConversation,
      { action: 'createConversation', clientRequestId: randomUUID(), members: [ada, cy] },
      ben,
    );

    expect(refused).toMatchObject({
      type: 'error',
      code: 'forbidden',
      message: 'members: some members cannot be added',
    });
    expect(String(refused?.message)).not.toContain(ada);
    // A third user may still put them together
    await group(cy, [ada, ben]);
  });
});

describe('the blocker', () => {
  it("gets the blocked user's group messages hidden, live, in sync and in the list; the others whole", async () => {
    // GIVEN a group of three, all online, and ada blocks ben
    const [ada, ben, cy] = users('ada', 'ben', 'cy');
    await online(ada, ben, cy);
    const grp = await group(cy, [ada, ben]);
    await blockUser(ada, ben);

    // WHEN ben writes in the group
    const ack = await send(ben, { conversationId: grp }, 'you cannot escape me');
    const posted = await deliver(await messageRecord(grp, Number(ack?.seq)));

    // THEN ada gets it hidden, cy whole
    const hidden = { type: 'message', senderId: ben, content: '', hidden: true, seq: ack?.seq };
    expect(posted.get(ada)).toEqual([expect.objectContaining(hidden)]);
    expect(posted.get(cy)).toEqual([expect.objectContaining({ content: 'you cannot escape me' })]);
    expect(posted.get(cy)?.[0]).not.toHaveProperty('hidden');
    // no `delivered` between ben and ada: ben hears of cy only
    const receipts = (posted.get(ben) ?? []).filter((frame) => frame.type === 'delivered');
    expect(receipts.map((frame) => frame.userId)).toEqual([cy]);
    // and the same in sync and in the list
    expect(await messagesOf(ada, grp)).toEqual([expect.objectContaining({ content: '', hidden: true })]);
    expect(await messagesOf(cy, grp)).toEqual([expect.objectContaining({ content: 'you cannot escape me' })]);
    const [adasEntry] = await listOf(ada);
    expect(adasEntry?.lastMessage).toMatchObject({ content: '', hidden: true });
    // the group's receipts in ada's list leave ben out, and ben's leave ada out
    expect((adasEntry?.receipts as Frame[]).map((receipt) => receipt.userId)).toEqual([cy]);
    const [bensEntry] = await listOf(ben);
    expect((bensEntry?.receipts as Frame[]).map((receipt) => receipt.userId)).toEqual([cy]);

    // WHEN ada unblocks ben THEN sync shows his message again
    await blockUser(ada, ben, false);
    expect(await messagesOf(ada, grp)).toEqual([
      expect.objectContaining({ content: 'you cannot escape me' }),
    ]);
  });

  it('sees the direct conversation marked blocked, without presence or receipts', async () => {
    const [ada, ben] = users('ada', 'ben');
    await online(ben);
    await send(ben, { to: ada });
    await blockUser(ada, ben);

    const [entry] = await listOf(ada);

    expect(entry).toMatchObject({ kind: 'direct', blocked: true, receipts: [] });
    expect(entry).not.toHaveProperty('presence');
    expect(await call(listBlocks, { action: 'listBlocks' }, ada)).toEqual({ type: 'blocks', userIds: [ben] });
  });

  it('exchanges no typing and no reads with the blocked user, either way', async () => {
    const [ada, ben, cy] = users('ada', 'ben', 'cy');
    await online(ada, ben, cy);
    const grp = await group(cy, [ada, ben]);
    const direct = directConversationId(ada, ben);
    await send(ben, { to: ada });
    await send(ada, { to: ben });
    const first = await send(ben, { conversationId: grp });
    await blockUser(ada, ben);

    // typing, both ways, in the group and the direct conversation
    for (const [from, to] of [
      [ada, ben],
      [ben, ada],
    ] as const) {
      managementApi.resetHistory();
      await call(typing, { action: 'typing', conversationId: grp, state: 'start' }, from);
      await call(typing, { action: 'typing', conversationId: direct, state: 'start' }, from);
      const targets = managementApi
        .commandCalls(PostToConnectionCommand)
        .map((posted) => posted.args[0].input.ConnectionId);
      expect(targets).not.toContain(`${to}-phone`);
      expect(targets).toContain(`${cy}-phone`);
    }

    // reads, both ways: ada reads ben's message, ben reads in the group
    const before = await stored(keys.member(grp, ada));
    expect(
      await call(markRead, { action: 'markRead', conversationId: grp, seq: Number(first?.seq) }, ada),
    ).toBeUndefined();
    const after = await stored(keys.member(grp, ada));
    const posted = await deliver(readModify(after ?? {}, before ?? {}));
    expect(posted.has(ben)).toBe(false);
    expect(posted.get(cy)).toEqual([expect.objectContaining({ type: 'read', userId: ada })]);
  });

  it('is refused blocking more than 1000 users, but may block again one already blocked', async () => {
    const [ada, ben, extra] = users('ada', 'ben', 'extra');
    // 999 others and ben: the limit
    const others = Array.from({ length: MAX_BLOCKS - 1 }, (_, index) => `blocked-${index}`);
    await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.userState(ada),
        UpdateExpression: 'SET #type = :type ADD blocks :blocked',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ':type': 'userState', ':blocked': new Set(others) },
      }),
    );
    expect(await blockUser(ada, ben)).toEqual({ type: 'ack', action: 'block' });

    expect(await blockUser(ada, extra)).toMatchObject({ type: 'error', code: 'too_large', action: 'block' });
    expect(await blockUser(ada, ben)).toEqual({ type: 'ack', action: 'block' });
    const listed = await call(listBlocks, { action: 'listBlocks' }, ada);
    expect((listed?.userIds as string[]).length).toBe(MAX_BLOCKS);
    expect(listed?.userIds).not.toContain(extra);
    // nothing was stored for the refused block
    const { Items } = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': `BLOCKEDBY#${extra}` },
        ConsistentRead: true,
      }),
    );
    expect(Items).toEqual([]);
  });

  it('refuses blocking oneself, storing nothing', async () => {
    const [ada] = users('ada');
    expect(await blockUser(ada, ada)).toMatchObject({ type: 'error', code: 'forbidden', action: 'block' });
    expect(await stored(keys.userState(ada))).toBeUndefined();
  });
});

describe('block racing a send (architecture.md guarantee 12)', () => {
  it('never shows the blocker whole a message committed after the ack, in a direct conversation or a group', async () => {
    const [ada, ben, cy] = users('ada', 'ben', 'cy');
    await online(ada, ben, cy);
    const grp = await group(cy, [ada, ben]);
    const first = await send(ben, { to: ada });
    const direct = String(first?.conversationId);

    // GIVEN ada's block is acked
    expect(await blockUser(ada, ben)).toEqual({ type: 'ack', action: 'block' });

    // WHEN messages of ben's whose checks ran before the block commit only now (the commit itself, as a
    // send that passed its checks a moment earlier would finish it)
    for (const conversationId of [direct, grp]) {
      const { message } = await commitMessage({
        conversationId,
        messageId: randomUUID(),
        senderId: ben,
        senderName: ben,
        content: 'slipped through',
        createdAt: new Date().toISOString(),
        clientMessageId: randomUUID(),
        originConnectionId: `${ben}-phone`,
      });
      const posted = await deliver(await messageRecord(conversationId, message.seq));

      // THEN ada gets it hidden, live and in sync, and her list keeps no trace of its content
      expect(posted.get(ada)).toEqual([expect.objectContaining({ content: '', hidden: true })]);
      const synced = await messagesOf(ada, conversationId);
      expect(synced.at(-1)).toMatchObject({ seq: message.seq, content: '', hidden: true });
      expect(JSON.stringify(await listOf(ada))).not.toContain('slipped through');
    }
  });
});

describe('presence between a blocker and the blocked', () => {
  it('passes neither way once one blocks the other, and the blocker forgets what it showed', async () => {
    const [ada, ben] = users('ada', 'ben');
    await online(ada);
    await send(ben, { to: ada });
    await send(ada, { to: ben });
    await blockUser(ada, ben);

    // ben's phone connects and disconnects, and ada's: as the stream delivers the connection items
    const record = (eventName: 'INSERT' | 'REMOVE', userId: string): DynamoDBRecord => {
      const key = keys.connection(userId, `${userId}-tablet`);
      const image = marshall({
        ...key,
        type: 'connection',
        userId,
        connectionId: `${userId}-tablet`,
        connectedAt: new Date().toISOString(),
      });
      return {
        eventID: randomUUID(),
        eventName,
        eventSource: 'aws:dynamodb',
        dynamodb: {
          Keys: marshall(key) as never,
          SequenceNumber: `${Date.now()}${Math.floor(Math.random() * 1000)}`,
          ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
          StreamViewType: 'NEW_AND_OLD_IMAGES',
          ...(eventName === 'INSERT' ? { NewImage: image as never } : { OldImage: image as never }),
        },
      };
    };
    await online(ben);
    const posted = await deliver(record('INSERT', ben));
    expect(posted.get(ada) ?? []).not.toContainEqual(expect.objectContaining({ type: 'presence' }));

    const [adasEntry] = await listOf(ada);
    expect(adasEntry).not.toHaveProperty('presence');
    const direct = directConversationId(ada, ben);
    expect(await stored(keys.member(direct, ada))).not.toHaveProperty('peerStatus');
  });
});
