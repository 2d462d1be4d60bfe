/**
 * Read cursors and typing against DynamoDB Local: concurrent markReads never move a cursor backwards,
 * and a non-member's typing and markRead reach nobody.
 */
import { randomUUID } from 'node:crypto';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { getMember } from '../../functions/adapters/member-store.ts';
import { handler as connect } from '../../functions/routes/connect.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as typing } from '../../functions/routes/typing.ts';
import { connectEvent, lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { seedGroupConversation } from '../support/seed.ts';

const managementApi = mockClient(ApiGatewayManagementApiClient);
afterAll(() => managementApi.restore());
beforeEach(() => {
  managementApi.reset();
  managementApi.on(PostToConnectionCommand).resolves({});
});

async function call(route: typeof markRead, frame: Record<string, unknown>, userId: string) {
  const response = await route(
    messageEvent(frame, { userId, connectionId: `${userId}-conn` }),
    lambdaContext,
  );
  return response.body === undefined ? undefined : JSON.parse(response.body);
}

async function groupWithMessages(members: string[], count: number): Promise<string> {
  const conversationId = `g-${randomUUID()}`;
  await seedGroupConversation(conversationId, members);
  for (let i = 0; i < count; i++) {
    await call(
      sendMessage,
      { action: 'sendMessage', conversationId, clientMessageId: randomUUID(), content: `m${i}` },
      members[0] ?? '',
    );
  }
  return conversationId;
}

describe('markRead', () => {
  it('never moves a read cursor backwards, whatever order concurrent markReads land in', async () => {
    const conversationId = await groupWithMessages(['olga', 'pete'], 12);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 }),
        async (seqs) => {
          const before = (await getMember(conversationId, 'pete'))?.readSeq ?? 0;
          await Promise.all(
            seqs.map((seq) => call(markRead, { action: 'markRead', conversationId, seq }, 'pete')),
          );
          const after = await getMember(conversationId, 'pete');
          expect(after?.readSeq).toBe(Math.max(before, ...seqs));
        },
      ),
      { numRuns: 15 },
    );
  });

  it('answers a markRead that does not move the cursor with the cursor as it stands', async () => {
    const conversationId = await groupWithMessages(['quin', 'rosa'], 3);
    expect(await call(markRead, { action: 'markRead', conversationId, seq: 3 }, 'rosa')).toBeUndefined();

    const answer = await call(markRead, { action: 'markRead', conversationId, seq: 1 }, 'rosa');

    expect(answer).toMatchObject({ type: 'read', conversationId, userId: 'rosa', seq: 3 });
  });

  it('refuses a seq beyond the last message', async () => {
    const conversationId = await groupWithMessages(['sam', 'tia'], 2);
    const answer = await call(markRead, { action: 'markRead', conversationId, seq: 3 }, 'tia');
    expect(answer).toMatchObject({ type: 'error', code: 'bad_request', action: 'markRead' });
    expect((await getMember(conversationId, 'tia'))?.readSeq).toBe(0);
  });
});

describe('a non-member', () => {
  it('reaches nobody with typing or markRead, and gets forbidden', async () => {
    // GIVEN a conversation whose members are online
    const conversationId = await groupWithMessages(['uma', 'vic'], 1);
    for (const userId of ['uma', 'vic'])
      await connect(connectEvent({ userId, connectionId: `${userId}-conn` }), lambdaContext);

    // WHEN an outsider types and marks read in it
    const typed = await call(typing, { action: 'typing', conversationId, state: 'start' }, 'eve');
    const read = await call(markRead, { action: 'markRead', conversationId, seq: 1 }, 'eve');

    // THEN both are refused and nothing was posted to anyone
    expect(typed).toMatchObject({ type: 'error', code: 'forbidden', action: 'typing' });
    expect(read).toMatchObject({ type: 'error', code: 'forbidden', action: 'markRead' });
    expect(managementApi).not.toHaveReceivedCommand(PostToConnectionCommand);
  });
});

describe('typing from a member', () => {
  it("reaches every connection of the other members and none of the typer's own", async () => {
    const conversationId = await groupWithMessages(['wes', 'xia', 'yan'], 0);
    const connections = ['wes-phone', 'wes-laptop', 'xia-phone', 'yan-phone', 'yan-tablet'];
    for (const connectionId of connections) {
      await connect(connectEvent({ userId: connectionId.split('-')[0], connectionId }), lambdaContext);
    }

    expect(await call(typing, { action: 'typing', conversationId, state: 'start' }, 'wes')).toBeUndefined();

    const targets = managementApi
      .commandCalls(PostToConnectionCommand)
      .map((c) => c.args[0].input.ConnectionId);
    expect(targets.sort()).toEqual(['xia-phone', 'yan-phone', 'yan-tablet']);
    const frame = JSON.parse(
      new TextDecoder().decode(
        managementApi.commandCalls(PostToConnectionCommand)[0]?.args[0].input.Data as Uint8Array,
      ),
    );
    // A start lapses 5 s after API Gateway received it (the fixture's requestTimeEpoch).
    const receivedAt = messageEvent({}).requestContext.requestTimeEpoch;
    expect(frame).toEqual({
      type: 'typing',
      conversationId,
      userId: 'wes',
      state: 'start',
      expiresAt: new Date(receivedAt + 5000).toISOString(),
    });
  });
});
