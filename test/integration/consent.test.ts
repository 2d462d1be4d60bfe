import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { handler as typing } from '../../functions/routes/typing.ts';
import { connectEvent, lambdaContext } from '../../local/harness/ws-events.ts';
import {
  callAs as call,
  deliverRecords,
  type Frame,
  readItem,
  uniqueUsers as users,
} from '../support/route-calls.ts';
import { connectionInsert, messageInsert, readModify } from '../support/stream-events.ts';

const managementApi = mockClient(ApiGatewayManagementApiClient);
afterAll(() => managementApi.restore());
beforeEach(() => {
  managementApi.reset();
  managementApi.on(PostToConnectionCommand).resolves({});
});

const item = async (key: { PK: string; SK: string }): Promise<Frame> => (await readItem(key)) ?? {};

const deliver = (...records: DynamoDBRecord[]) => deliverRecords(managementApi, ...records);

/** A tablet of `userId` coming online, as the stream gives it: presence for their contacts. */
const opened = (userId: string): DynamoDBRecord => connectionInsert(userId, `${userId}-tablet`);

const types = (frames: Frame[] | undefined): unknown[] => (frames ?? []).map((frame) => frame.type);

describe('consent in a direct conversation', () => {
  it('tells a stranger who wrote first nothing of the recipient until the recipient answers', async () => {
    // GIVEN vic is online, and stan writes to him first
    const [vic, stan] = users('vic', 'stan');
    for (const userId of [vic, stan]) {
      await connect(connectEvent({ userId, connectionId: `${userId}-phone` }), lambdaContext);
    }
    const first = await call(
      sendMessage,
      { action: 'sendMessage', to: vic, clientMessageId: 'c1', content: 'hey' },
      stan,
    );
    const direct = String(first?.conversationId);
    const toStan = await deliver(messageInsert(await item(keys.message(direct, 1))));
    // vic's phone took it, but stan is not told it was delivered
    expect(types(toStan.get(stan))).not.toContain('delivered');

    // WHEN vic reads it, types, and comes online on another device
    const before = await item(keys.member(direct, vic));
    await call(markRead, { action: 'markRead', conversationId: direct, seq: 1 }, vic);
    const readPosted = await deliver(readModify(await item(keys.member(direct, vic)), before));
    managementApi.resetHistory();
    await call(typing, { action: 'typing', conversationId: direct, state: 'start' }, vic);
    const typed = managementApi
      .commandCalls(PostToConnectionCommand)
      .map((posted) => posted.args[0].input.ConnectionId);
    const presencePosted = await deliver(opened(vic));

    // THEN stan learns none of it, live or from his list
    expect(readPosted.has(stan)).toBe(false);
    expect(typed).not.toContain(`${stan}-phone`);
    expect(presencePosted.has(stan)).toBe(false);
    const list = await call(sync, { action: 'sync' }, stan);
    const [entry] = list?.conversations as Frame[];
    expect(entry).toMatchObject({ conversationId: direct, receipts: [] });
    expect(entry).not.toHaveProperty('presence');
    const stansItem = await item(keys.member(direct, stan));
    expect(stansItem).not.toHaveProperty('peerStatus');
    expect(stansItem).not.toHaveProperty('peerReadSeq', 1);
  });

  it('introduces each to the other’s presence when the recipient answers, once, and lets typing through', async () => {
    const [ana, bo] = users('ana', 'bo');
    for (const userId of [ana, bo]) {
      await connect(connectEvent({ userId, connectionId: `${userId}-phone` }), lambdaContext);
    }
    const first = await call(
      sendMessage,
      { action: 'sendMessage', to: bo, clientMessageId: 'c1', content: 'hi' },
      ana,
    );
    const direct = String(first?.conversationId);
    await deliver(messageInsert(await item(keys.message(direct, 1))));
    // both online (their presence sets hold a connection each), told to nobody yet
    const online = await deliver(opened(ana), opened(bo));
    expect(types(online.get(ana))).not.toContain('presence');

    // WHEN bo answers
    await call(sendMessage, { action: 'sendMessage', to: ana, clientMessageId: 'c2', content: 'hi ana' }, bo);
    const answer = messageInsert(await item(keys.message(direct, 2)));
    const posted = await deliver(answer);

    // THEN each is told the other is online, and each entry shows it
    expect(posted.get(ana)).toContainEqual({ type: 'presence', userId: bo, status: 'online' });
    expect(posted.get(bo)).toContainEqual({ type: 'presence', userId: ana, status: 'online' });
    for (const [userId, peer] of [
      [ana, bo],
      [bo, ana],
    ] as const) {
      const list = await call(sync, { action: 'sync' }, userId);
      const [entry] = list?.conversations as Frame[];
      expect(entry).toMatchObject({ presence: { status: 'online', lastSeen: null } });
      expect((entry?.receipts as Frame[]).map((receipt) => receipt.userId)).toEqual([peer]);
    }
    // a replay of the answer introduces nobody again
    const replayed = await deliver(answer);
    expect(types(replayed.get(ana))).not.toContain('presence');
    // and typing passes now
    managementApi.resetHistory();
    await call(typing, { action: 'typing', conversationId: direct, state: 'start' }, bo);
    const typed = managementApi
      .commandCalls(PostToConnectionCommand)
      .map((call) => call.args[0].input.ConnectionId);
    expect(typed).toContain(`${ana}-phone`);
  });
});
