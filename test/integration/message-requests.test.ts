/**
 * Message requests against DynamoDB Local with the real handlers, under the `requests` contact policy
 * (protocol.md 1.2, "Who may talk to whom"): a first message is a request for its recipient only; the
 * recipient gets one push for it, not one per message; accepting it, or answering it, gives consent,
 * and accepting introduces the two users' presence through the stream; accepting is idempotent and
 * only the recipient can do it; groups are made of accepted contacts only.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { handler as acceptRequest } from '../../functions/routes/accept-request.ts';
import { handler as block } from '../../functions/routes/block.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
import { handler as createConversation } from '../../functions/routes/create-conversation.ts';
import { handler as leaveConversation } from '../../functions/routes/leave-conversation.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { connectEvent, lambdaContext } from '../../local/harness/ws-events.ts';
import {
  callAs as call,
  deliverRecords,
  type Frame,
  readItem,
  uniqueUsers as users,
} from '../support/route-calls.ts';
import { connectionInsert, messageInsert, readModify } from '../support/stream-events.ts';

// Read by the handlers when they load (functions/shared/config.ts).
vi.hoisted(() => {
  process.env.CONTACT_POLICY = 'requests';
});

const managementApi = mockClient(ApiGatewayManagementApiClient);
const sns = mockClient(SNSClient);
afterAll(() => {
  managementApi.restore();
  sns.restore();
});
beforeEach(() => {
  managementApi.reset();
  managementApi.on(PostToConnectionCommand).resolves({});
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'p' });
});

const item = async (key: { PK: string; SK: string }): Promise<Frame> => (await readItem(key)) ?? {};

const deliver = (...records: DynamoDBRecord[]) => deliverRecords(managementApi, ...records);

/** `from` writes to `to` (a first message creates their direct conversation), delivered. */
async function write(from: string, to: string, content: string): Promise<{ direct: string; seq: number }> {
  const ack = await call(
    sendMessage,
    { action: 'sendMessage', to, clientMessageId: randomUUID(), content },
    from,
  );
  expect(ack).toMatchObject({ type: 'ack', action: 'sendMessage' });
  const direct = String(ack?.conversationId);
  const seq = Number(ack?.seq);
  await deliver(messageInsert(await item(keys.message(direct, seq))));
  return { direct, seq };
}

/** acceptRequest's stored change, as the stream gives it: the acceptor's item before and after. */
async function accepted(direct: string, userId: string, before: Frame): Promise<DynamoDBRecord> {
  return readModify(await item(keys.member(direct, userId)), { ...before, changedBy: before.changedBy });
}

async function entryOf(userId: string, conversationId: string): Promise<Frame | undefined> {
  const list = await call(sync, { action: 'sync' }, userId);
  return (list?.conversations as Frame[]).find((entry) => entry.conversationId === conversationId);
}

/** Each user's phone connects, and the stream records their presence. */
async function online(...userIds: string[]): Promise<void> {
  for (const userId of userIds) {
    await connect(connectEvent({ userId, connectionId: `${userId}-phone` }), lambdaContext);
  }
  await deliver(...userIds.map((userId) => connectionInsert(userId, `${userId}-phone`)));
}

async function registerPhone(userId: string): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        ...keys.device(userId, 'iphone'),
        type: 'device',
        userId,
        deviceId: 'iphone',
        platform: 'apns',
        token: 'a'.repeat(64),
        endpointArn: `arn:aws:sns:us-east-1:123456789012:endpoint/APNS/parley/${userId}`,
        registeredAt: new Date().toISOString(),
      },
    }),
  );
}

const group = (creator: string, members: string[]) =>
  call(
    createConversation,
    { action: 'createConversation', clientRequestId: randomUUID(), members, title: 'Picnic' },
    creator,
  );

describe('message requests (contact policy requests)', () => {
  it('makes a first message a request for its recipient only, listed as one', async () => {
    const [xia, yan] = users('xia', 'yan');
    const { direct } = await write(xia, yan, 'hello there');

    expect(await item(keys.member(direct, yan))).toMatchObject({ pendingRequest: true });
    expect(await item(keys.member(direct, xia))).not.toHaveProperty('pendingRequest');
    expect(await entryOf(yan, direct)).toMatchObject({ request: true, unread: 1 });
    expect(await entryOf(xia, direct)).not.toHaveProperty('request');
  });

  it('pushes the recipient once for a request, not once per message, and every message once answered', async () => {
    const [xia, yan] = users('xia', 'yan');
    await registerPhone(yan);
    await write(xia, yan, 'one');
    await write(xia, yan, 'two');
    await write(xia, yan, 'three');
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);

    // yan answers: the request is over, and xia's next message pushes
    const { direct } = await write(yan, xia, 'hi!');
    expect(await item(keys.member(direct, yan))).not.toHaveProperty('pendingRequest');
    sns.resetHistory();
    await write(xia, yan, 'four');
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it('accepts a request: consent on both sides, the entry moves, and the stream introduces their presence', async () => {
    const [xia, yan] = users('xia', 'yan');
    const { direct } = await write(xia, yan, 'coffee?');
    await online(xia, yan);
    const before = await item(keys.member(direct, yan));

    const ack = await call(acceptRequest, { action: 'acceptRequest', conversationId: direct }, yan);

    expect(ack).toEqual({ type: 'ack', action: 'acceptRequest' });
    const yans = await item(keys.member(direct, yan));
    expect(yans).not.toHaveProperty('pendingRequest');
    expect(yans).toMatchObject({ sent: true, peerSent: true, changedBy: 'accept' });
    expect(String(yans.changedAt) > String(before.changedAt)).toBe(true);
    expect(await item(keys.member(direct, xia))).toMatchObject({ sent: true, peerSent: true });
    // the stored change reaches delivery: each of them is told the other is online
    const posted = await deliver(await accepted(direct, yan, before));
    expect(posted.get(xia)).toEqual([{ type: 'presence', userId: yan, status: 'online' }]);
    expect(posted.get(yan)).toEqual([{ type: 'presence', userId: xia, status: 'online' }]);
    const entry = await entryOf(yan, direct);
    expect(entry).not.toHaveProperty('request');
    expect(entry).toMatchObject({ presence: { status: 'online', lastSeen: null } });
  });

  it('acks accepting again, or a conversation that is no request, and changes nothing', async () => {
    const [xia, yan] = users('xia', 'yan');
    const { direct } = await write(xia, yan, 'hey');

    // the one who started it cannot accept for the other
    expect(await call(acceptRequest, { action: 'acceptRequest', conversationId: direct }, xia)).toEqual({
      type: 'ack',
      action: 'acceptRequest',
    });
    expect(await item(keys.member(direct, yan))).toMatchObject({ pendingRequest: true });
    expect(await item(keys.member(direct, xia))).not.toHaveProperty('peerSent');

    await call(acceptRequest, { action: 'acceptRequest', conversationId: direct }, yan);
    const once = await item(keys.member(direct, yan));
    expect(await call(acceptRequest, { action: 'acceptRequest', conversationId: direct }, yan)).toEqual({
      type: 'ack',
      action: 'acceptRequest',
    });
    expect(await item(keys.member(direct, yan))).toEqual(once);
  });

  it('refuses a stranger, and a group id, storing nothing', async () => {
    const [xia, yan, eve] = users('xia', 'yan', 'eve');
    const { direct } = await write(xia, yan, 'hey');
    expect(await call(acceptRequest, { action: 'acceptRequest', conversationId: direct }, eve)).toMatchObject(
      {
        type: 'error',
        code: 'forbidden',
      },
    );
    expect(
      await call(acceptRequest, { action: 'acceptRequest', conversationId: `g_${randomUUID()}` }, yan),
    ).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(await item(keys.member(direct, yan))).toMatchObject({ pendingRequest: true });
  });

  it('introduces nobody when a block came between the accept and its delivery', async () => {
    const [xia, yan] = users('xia', 'yan');
    const { direct } = await write(xia, yan, 'hey');
    await online(xia, yan);
    const before = await item(keys.member(direct, yan));
    await call(acceptRequest, { action: 'acceptRequest', conversationId: direct }, yan);
    const record = await accepted(direct, yan, before);
    await call(block, { action: 'block', userId: xia, on: true }, yan);

    const posted = await deliver(record);

    expect(posted.size).toBe(0);
    expect(await item(keys.member(direct, xia))).not.toHaveProperty('peerStatus');
  });

  it('makes groups of accepted contacts only', async () => {
    const [xia, yan, zed] = users('xia', 'yan', 'zed');
    const { direct } = await write(xia, yan, 'hey');

    // neither the one who asked nor the one asked can put the other in a group yet; nor a stranger
    const refused = { type: 'error', code: 'forbidden', message: 'members: some members cannot be added' };
    expect(await group(xia, [yan])).toMatchObject(refused);
    expect(await group(yan, [xia])).toMatchObject(refused);
    expect(await group(xia, [zed])).toMatchObject(refused);

    await call(acceptRequest, { action: 'acceptRequest', conversationId: direct }, yan);

    expect(await group(xia, [yan])).toMatchObject({ type: 'conversation', kind: 'group' });
    expect(await group(yan, [xia])).toMatchObject({ type: 'conversation', kind: 'group' });
    // one accepted contact does not carry a stranger in with them
    expect(await group(xia, [yan, zed])).toMatchObject(refused);
  });

  it('keeps a declined (hidden) request a request, and pushes nothing more for it', async () => {
    const [xia, yan] = users('xia', 'yan');
    await registerPhone(yan);
    const { direct } = await write(xia, yan, 'hey');
    const left = await call(leaveConversation, { action: 'leaveConversation', conversationId: direct }, yan);
    expect(left).toEqual({ type: 'ack', action: 'leaveConversation' });
    sns.resetHistory();

    await write(xia, yan, 'hello??');

    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    expect(await entryOf(yan, direct)).toMatchObject({ request: true });
  });
});
