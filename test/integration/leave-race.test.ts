/**
 * Leaving is immediate (protocol.md 1.2) against DynamoDB Local: once leaveConversation is acked,
 * delivery of records committed before the leave (a message delivered late, a retried or replayed
 * batch, the group's creation replayed) reaches none of the leaver's connections, `conversation`
 * frames carry the members as they are now, and the leave's own stored change (the member item's
 * REMOVE, a direct conversation's hidden mark) posts `left` to every connection of the leaver. Only
 * the management API is mocked; stream records are built from the items as stored.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
import { handler as createConversation } from '../../functions/routes/create-conversation.ts';
import { handler as leaveConversation } from '../../functions/routes/leave-conversation.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
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

async function call(
  route: typeof sendMessage,
  frame: Frame,
  userId: string,
  connectionId = `${userId}-phone`,
): Promise<Frame | undefined> {
  const response = await route(messageEvent(frame, { userId, connectionId }), lambdaContext);
  return response.body === undefined ? undefined : (JSON.parse(response.body) as Frame);
}

const users = <Names extends string[]>(...names: Names): { [K in keyof Names]: string } => {
  const suffix = randomUUID().slice(0, 8);
  return names.map((name) => `${name}-${suffix}`) as { [K in keyof Names]: string };
};

async function online(userId: string, ...devices: string[]): Promise<void> {
  for (const device of devices) {
    await connect(connectEvent({ userId, connectionId: `${userId}-${device}` }), lambdaContext);
  }
}

async function storedItem(key: { PK: string; SK: string }): Promise<Record<string, unknown>> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }),
  );
  expect(Item).toBeDefined();
  return Item as Record<string, unknown>;
}

/** Runs delivery on a batch, as the stream would, and answers what was posted to which connection. */
async function deliver(...records: DynamoDBRecord[]): Promise<Map<string, Frame[]>> {
  managementApi.resetHistory();
  expect(await delivery(streamEvent(...records))).toEqual({ batchItemFailures: [] });
  const posted = new Map<string, Frame[]>();
  for (const { args } of managementApi.commandCalls(PostToConnectionCommand)) {
    const { ConnectionId, Data } = args[0].input;
    const frames = posted.get(String(ConnectionId)) ?? [];
    frames.push(JSON.parse(new TextDecoder().decode(Data as Uint8Array)) as Frame);
    posted.set(String(ConnectionId), frames);
  }
  return posted;
}

/** The REMOVE of a member item, as the stream gives it (the old image only). */
function memberRemove(item: Record<string, unknown>): DynamoDBRecord {
  const image = marshall(item, { removeUndefinedValues: true }) as never;
  return {
    eventID: randomUUID(),
    eventName: 'REMOVE',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: marshall({ PK: item.PK, SK: item.SK }) as never,
      OldImage: image,
      SequenceNumber: '4421584700000000017450449999',
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const leave = (userId: string, conversationId: string) =>
  call(leaveConversation, { action: 'leaveConversation', conversationId }, userId);

describe('the leave race under delivery retries and replays', () => {
  it('gives a group leaver nothing committed before the ack, and `left` on every connection', async () => {
    // GIVEN a group of three, alice on two connections, and records captured before her leave
    const [alice, bob, carol] = users('alice', 'bob', 'carol');
    await online(alice, 'phone', 'laptop');
    await online(bob, 'phone');
    await online(carol, 'phone');
    const created = await call(
      createConversation,
      { action: 'createConversation', clientRequestId: randomUUID(), members: [bob, carol], title: 'Lunch' },
      alice,
    );
    const group = String(created?.conversationId);
    const creation = conversationInsert(await storedItem(keys.conversation(group)));
    const ack = await call(
      sendMessage,
      { action: 'sendMessage', clientMessageId: randomUUID(), content: 'just before', conversationId: group },
      bob,
    );
    const justBefore = messageInsert(await storedItem(keys.message(group, Number(ack?.seq))));
    const aliceMember = await storedItem(keys.member(group, alice));

    // WHEN alice leaves (acked) before delivery got to the message
    expect(await leave(alice, group)).toEqual({ type: 'ack', action: 'leaveConversation' });

    // THEN the late delivery, its retry and a replayed batch with the creation reach none of hers
    for (const batch of [[justBefore], [justBefore], [creation, justBefore]]) {
      const posted = await deliver(...batch);
      expect(posted.has(`${alice}-phone`)).toBe(false);
      expect(posted.has(`${alice}-laptop`)).toBe(false);
      expect(posted.get(`${carol}-phone`)).toContainEqual(expect.objectContaining({ type: 'message' }));
    }
    // and a replayed creation carries the members as they are now
    const replayed = await deliver(creation);
    expect(replayed.get(`${carol}-phone`)).toEqual([
      expect.objectContaining({ type: 'conversation', members: [bob, carol].sort() }),
    ]);

    // WHEN the leave's own change (her member item's REMOVE) is delivered, and replayed
    for (let attempt = 0; attempt < 2; attempt++) {
      const left = await deliver(memberRemove(aliceMember));
      // THEN both of her connections get `left`, nobody else anything
      expect(left).toEqual(
        new Map([
          [`${alice}-phone`, [{ type: 'left', conversationId: group }]],
          [`${alice}-laptop`, [{ type: 'left', conversationId: group }]],
        ]),
      );
    }
  });

  it('keeps a message committed before a direct leave from the hider, and tells their connections', async () => {
    const [alice, bob] = users('alice', 'bob');
    await online(alice, 'phone');
    await online(bob, 'phone', 'laptop');
    const dm = directConversationId(alice, bob);
    const send = (content: string) =>
      call(sendMessage, { action: 'sendMessage', clientMessageId: randomUUID(), content, to: bob }, alice);
    await send('first');
    const ack = await send('just before');
    const justBefore = messageInsert(await storedItem(keys.message(dm, Number(ack?.seq))));

    // WHEN bob hides it (acked) before delivery got to the second message
    expect(await leave(bob, dm)).toEqual({ type: 'ack', action: 'leaveConversation' });

    // THEN its delivery, retried, reaches neither of his connections, and pushes him nothing
    for (let attempt = 0; attempt < 2; attempt++) {
      const posted = await deliver(justBefore);
      expect(posted.has(`${bob}-phone`)).toBe(false);
      expect(posted.has(`${bob}-laptop`)).toBe(false);
    }
    // and the hide mark posts `left` to both of his connections
    const member = await storedItem(keys.member(dm, bob));
    const left = await deliver(readModify(member, { hiddenUntilSeq: undefined, changedBy: 'delivery' }));
    expect(left).toEqual(
      new Map([
        [`${bob}-phone`, [{ type: 'left', conversationId: dm }]],
        [`${bob}-laptop`, [{ type: 'left', conversationId: dm }]],
      ]),
    );

    // WHEN alice writes again: the next message reaches him (1.1: it un-hides the conversation)
    const next = await send('are you there?');
    const posted = await deliver(messageInsert(await storedItem(keys.message(dm, Number(next?.seq)))));
    expect(posted.get(`${bob}-phone`)).toEqual([
      expect.objectContaining({ type: 'message', seq: next?.seq }),
    ]);
  });
});
