/**
 * leaveConversation against DynamoDB Local: a group member who leaves is refused everywhere in it
 * afterwards and the group leaves their list; the remaining members' conversation item lacks them and
 * delivery of the stored change sends the new member list to them only; members leaving at once all end
 * removed; a direct conversation is only hidden from the leaver's list, until its next message. Only the
 * management API is mocked; stream records are built from the items as stored.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { getMember } from '../../functions/adapters/member-store.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
import { handler as createConversation } from '../../functions/routes/create-conversation.ts';
import { handler as leaveConversation } from '../../functions/routes/leave-conversation.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { handler as typing } from '../../functions/routes/typing.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { handler as delivery } from '../../functions/stream/delivery.ts';
import { connectEvent, lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { conversationInsert, messageInsert, readModify, streamEvent } from '../support/stream-events.ts';

const managementApi = mockClient(ApiGatewayManagementApiClient);
afterAll(() => managementApi.restore());
beforeEach(() => {
  managementApi.reset();
  managementApi.on(PostToConnectionCommand).resolves({});
});

type Frame = Record<string, unknown>;
type Route = typeof sync;

async function call(route: Route, frame: Frame, userId: string): Promise<Frame | undefined> {
  const response = await route(
    messageEvent(frame, { userId, connectionId: `${userId}-conn` }),
    lambdaContext,
  );
  return response.body === undefined ? undefined : (JSON.parse(response.body) as Frame);
}

const leave = (userId: string, conversationId: string) =>
  call(leaveConversation, { action: 'leaveConversation', conversationId }, userId);

/** Fresh user ids per test: the table is shared by the file's tests. */
const users = <Names extends string[]>(...names: Names): { [K in keyof Names]: string } => {
  const suffix = randomUUID().slice(0, 8);
  return names.map((name) => `${name}-${suffix}`) as { [K in keyof Names]: string };
};

async function createGroup(creator: string, members: string[]): Promise<string> {
  const frame = await call(
    createConversation,
    { action: 'createConversation', clientRequestId: randomUUID(), members, title: 'Lunch' },
    creator,
  );
  expect(frame).toMatchObject({ type: 'conversation', kind: 'group' });
  return String(frame?.conversationId);
}

async function send(from: string, target: Frame, content = 'hello'): Promise<Frame | undefined> {
  return call(
    sendMessage,
    { action: 'sendMessage', clientMessageId: randomUUID(), content, ...target },
    from,
  );
}

async function storedItem(key: { PK: string; SK: string }): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }),
  );
  return Item;
}

/** The conversation ids of the user's list (`sync` without conversationId). */
async function listed(userId: string): Promise<string[]> {
  const frame = await call(sync, { action: 'sync' }, userId);
  expect(frame).toMatchObject({ type: 'conversations' });
  return (frame?.conversations as { conversationId: string }[]).map((entry) => entry.conversationId);
}

/** Runs delivery on one record, as the stream would, and answers what was posted to which connection. */
async function deliver(record: DynamoDBRecord): Promise<Map<string, Frame[]>> {
  managementApi.resetHistory();
  expect(await delivery(streamEvent(record))).toEqual({ batchItemFailures: [] });
  const posted = new Map<string, Frame[]>();
  for (const { args } of managementApi.commandCalls(PostToConnectionCommand)) {
    const { ConnectionId, Data } = args[0].input;
    const frames = posted.get(String(ConnectionId)) ?? [];
    frames.push(JSON.parse(new TextDecoder().decode(Data as Uint8Array)) as Frame);
    posted.set(String(ConnectionId), frames);
  }
  return posted;
}

/** The MODIFY record of the conversation item as it is stored now (NEW_AND_OLD_IMAGES). */
async function conversationModify(conversationId: string): Promise<DynamoDBRecord> {
  const item = await storedItem(keys.conversation(conversationId));
  expect(item).toBeDefined();
  return { ...conversationInsert(item), eventName: 'MODIFY' };
}

describe('leaving a group', () => {
  it('refuses the leaver everywhere in it, drops it from their list, and tells only the others', async () => {
    // GIVEN a group of four with a message, everyone online
    const [alice, bob, carol, dave] = users('alice', 'bob', 'carol', 'dave');
    const group = await createGroup(alice, [alice, bob, carol, dave]);
    for (const userId of [alice, bob, carol, dave]) {
      await connect(connectEvent({ userId, connectionId: `${userId}-conn` }), lambdaContext);
    }
    expect(await send(bob, { conversationId: group })).toMatchObject({ type: 'ack', seq: 1 });

    // WHEN alice leaves
    expect(await leave(alice, group)).toEqual({ type: 'ack', action: 'leaveConversation' });

    // THEN she is refused in it, whatever she does
    const refused = (action: string) => ({ type: 'error', code: 'forbidden', action });
    expect(await call(sync, { action: 'sync', conversationId: group }, alice)).toMatchObject(refused('sync'));
    expect(await send(alice, { conversationId: group })).toMatchObject(refused('sendMessage'));
    expect(
      await call(typing, { action: 'typing', conversationId: group, state: 'start' }, alice),
    ).toMatchObject(refused('typing'));
    expect(await call(markRead, { action: 'markRead', conversationId: group, seq: 1 }, alice)).toMatchObject(
      refused('markRead'),
    );
    // leaving again: she is no member any more
    expect(await leave(alice, group)).toMatchObject(refused('leaveConversation'));
    // and it is gone from her list, not from the others'
    expect(await listed(alice)).not.toContain(group);
    expect(await listed(bob)).toContain(group);

    // the stored group lacks her, and her member item is gone
    const stored = await storedItem(keys.conversation(group));
    expect(stored?.members).toEqual([bob, carol, dave].sort());
    expect(stored?.changedBy).toBe('leave');
    expect(await getMember(group, alice)).toBeUndefined();
    // typing and refusals posted nothing to anyone
    expect(managementApi).not.toHaveReceivedCommand(PostToConnectionCommand);

    // WHEN delivery gets the stored change
    const posted = await deliver(await conversationModify(group));

    // THEN every remaining member's connection gets the new member list, the leaver's gets nothing
    expect([...posted.keys()].sort()).toEqual([`${bob}-conn`, `${carol}-conn`, `${dave}-conn`].sort());
    for (const frames of posted.values()) {
      expect(frames).toEqual([
        {
          type: 'conversation',
          conversationId: group,
          kind: 'group',
          members: [bob, carol, dave].sort(),
          title: 'Lunch',
          createdAt: stored?.createdAt,
        },
      ]);
    }

    // and a message after the leave reaches the others, not her
    const ack = await send(bob, { conversationId: group }, 'after alice left');
    const message = await storedItem(keys.message(group, Number(ack?.seq)));
    const afterLeave = await deliver(messageInsert(message));
    expect(afterLeave.has(`${alice}-conn`)).toBe(false);
    expect(afterLeave.has(`${carol}-conn`)).toBe(true);
  });

  it('removes every one of several members leaving at once', async () => {
    // GIVEN a group of six
    const everyone = users('ann', 'ben', 'cat', 'dan', 'eva', 'fay');
    const [creator, ...others] = everyone;
    const group = await createGroup(creator, everyone);
    const leavers = others.slice(0, 4);

    // WHEN four leave concurrently
    const answers = await Promise.all(leavers.map((userId) => leave(userId, group)));

    // THEN each is acked, and none of the removals was lost
    for (const answer of answers) expect(answer).toEqual({ type: 'ack', action: 'leaveConversation' });
    const stored = await storedItem(keys.conversation(group));
    expect(stored?.members).toEqual(everyone.filter((userId) => !leavers.includes(userId)).sort());
    for (const userId of leavers) expect(await getMember(group, userId)).toBeUndefined();
  });

  it('keeps a group its last member left, with its messages, and delivers to nobody', async () => {
    const [gil, hal] = users('gil', 'hal');
    const group = await createGroup(gil, [gil, hal]);
    await send(gil, { conversationId: group });

    expect(await leave(gil, group)).toMatchObject({ type: 'ack' });
    expect(await leave(hal, group)).toMatchObject({ type: 'ack' });

    expect((await storedItem(keys.conversation(group)))?.members).toEqual([]);
    expect(await storedItem(keys.message(group, 1))).toBeDefined();
    expect((await deliver(await conversationModify(group))).size).toBe(0);
  });
});

describe('leaving a direct conversation', () => {
  it('hides it from the leaver’s list until the next message, changing nothing else', async () => {
    // GIVEN alice wrote to bob, both online
    const [alice, bob] = users('alice', 'bob');
    for (const userId of [alice, bob]) {
      await connect(connectEvent({ userId, connectionId: `${userId}-conn` }), lambdaContext);
    }
    const first = await send(alice, { to: bob });
    const dm = directConversationId(alice, bob);
    expect(first).toMatchObject({ type: 'ack', conversationId: dm, seq: 1 });
    const before = await storedItem(keys.conversation(dm));

    // WHEN bob leaves it, twice
    expect(await leave(bob, dm)).toEqual({ type: 'ack', action: 'leaveConversation' });
    expect(await leave(bob, dm)).toEqual({ type: 'ack', action: 'leaveConversation' });

    // THEN it is gone from his list only; the conversation and both memberships are as they were
    expect(await listed(bob)).not.toContain(dm);
    expect(await listed(alice)).toContain(dm);
    expect(await storedItem(keys.conversation(dm))).toEqual(before);
    const member = await storedItem(keys.member(dm, bob));
    expect(member).toMatchObject({ hiddenUntilSeq: 1, changedBy: 'leave' });
    // he may still read it (he is a member)
    expect(await call(sync, { action: 'sync', conversationId: dm }, bob)).toMatchObject({ type: 'messages' });

    // and the hide mark is no read: delivery posts only `left`, to bob's connections (1.2)
    const hideRecord = readModify(member, { hiddenUntilSeq: undefined, changedBy: 'create' });
    expect(await deliver(hideRecord)).toEqual(
      new Map([[`${bob}-conn`, [{ type: 'left', conversationId: dm }]]]),
    );

    // WHEN alice writes again
    const second = await send(alice, { to: bob }, 'are you there?');
    const posted = await deliver(messageInsert(await storedItem(keys.message(dm, Number(second?.seq)))));

    // THEN the message reached bob as always, and the conversation is back in his list
    expect(posted.get(`${bob}-conn`)).toEqual([expect.objectContaining({ type: 'message', seq: 2 })]);
    expect(await listed(bob)).toContain(dm);
  });
});
