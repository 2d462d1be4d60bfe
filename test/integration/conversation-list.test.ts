/**
 * The conversation list (`sync` without conversationId) against DynamoDB Local: a user in 300
 * conversations pages through all of them, newest change first, while others keep sending (delivery
 * moves conversations to the front): none goes missing, and only those that moved come again, with
 * their new state; a user in 5,000 pages through all of them in order, each once; a cursor is only
 * ever good for the user it was given to. Only the management API is mocked.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberItem } from '../../functions/adapters/conversation-store.ts';
import { keys } from '../../functions/adapters/keys.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { mapConcurrently } from '../../functions/shared/concurrency.ts';
import { handler as delivery } from '../../functions/stream/delivery.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { messageInsert, streamEvent } from '../support/stream-events.ts';

const api = mockClient(ApiGatewayManagementApiClient);
type Frame = Record<string, unknown>;

async function frameOf(response: Promise<{ body?: string }>): Promise<Frame> {
  return JSON.parse((await response).body ?? '{}') as Frame;
}

/** Sends as `from` to `to` and runs the delivery Lambda on the committed message, as the stream would. */
async function sendAndDeliver(from: string, to: string, clientMessageId: string): Promise<Frame> {
  const ack = await frameOf(
    sendMessage(
      messageEvent(
        { action: 'sendMessage', to, clientMessageId, content: `hello from ${from}` },
        { userId: from },
      ),
      lambdaContext,
    ),
  );
  expect(ack).toMatchObject({ type: 'ack', duplicate: false });
  const conversationId = String(ack.conversationId);
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: TABLE_NAME,
      Key: keys.message(conversationId, Number(ack.seq)),
      ConsistentRead: true,
    }),
  );
  expect(await delivery(streamEvent(messageInsert(Item)))).toEqual({ batchItemFailures: [] });
  return ack;
}

interface Entry {
  conversationId: string;
  lastSeq: number;
  unread: number;
  lastMessage: { senderId: string } | null;
}

async function listPage(userId: string, cursor?: string, limit?: number): Promise<Frame> {
  return frameOf(
    sync(
      messageEvent({ action: 'sync', ...(cursor && { cursor }), ...(limit && { limit }) }, { userId }),
      lambdaContext,
    ),
  );
}

/** Every page of the user's list, with nothing happening meanwhile: the order as it stands. */
async function expectedOrder(userId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const frame = await listPage(userId, cursor, 100);
    ids.push(...(frame.conversations as Entry[]).map((entry) => entry.conversationId));
    cursor = frame.nextCursor === null ? undefined : String(frame.nextCursor);
  } while (cursor !== undefined);
  return ids;
}

beforeAll(() => {
  api.on(PostToConnectionCommand).resolves({});
});

afterAll(() => {
  api.reset();
});

describe('a user in 300 conversations', () => {
  const partners = Array.from({ length: 300 }, (_, i) => `pal${String(i).padStart(3, '0')}`);

  beforeAll(async () => {
    // Each partner writes first: 300 direct conversations, created and delivered through the handlers.
    await mapConcurrently(partners, 4, (partner) => sendAndDeliver(partner, 'lia', `${partner}-first`));
  }, 120_000);

  it('pages through all of them newest change first, none missing, only moved ones again, while messages keep arriving', async () => {
    const order = await expectedOrder('lia');
    expect(order).toHaveLength(300);
    const seen: Entry[] = [];
    const moved: string[] = [];
    let frame = await listPage('lia', undefined, 25);
    for (let page = 0; ; page++) {
      seen.push(...(frame.conversations as Entry[]));
      if (frame.nextCursor === null) break;
      // Between pages, two partners write again: one whose conversation is still ahead, one already
      // served. Both move up; neither may go missing or come twice.
      const ahead = order[order.length - 1 - page] ?? '';
      const served = seen[page]?.conversationId ?? '';
      for (const conversationId of [ahead, served]) {
        moved.push(conversationId);
        const partner = partners.find((p) => directConversationId(p, 'lia') === conversationId) ?? '';
        await sendAndDeliver(partner, 'lia', `${partner}-again-${page}`);
      }
      frame = await listPage('lia', String(frame.nextCursor), 25);
    }

    // Every conversation came; the only ones that came twice are those that moved after being served.
    const ids = seen.map((entry) => entry.conversationId);
    expect(new Set(ids)).toEqual(new Set(order));
    const repeated = ids.filter((conversationId, index) => ids.indexOf(conversationId) !== index);
    for (const conversationId of repeated) expect(moved).toContain(conversationId);
    // Each moved conversation's last appearance shows its second message.
    for (const conversationId of moved) {
      const last = seen.filter((entry) => entry.conversationId === conversationId).at(-1);
      expect(last).toMatchObject({
        lastSeq: 2,
        unread: 2,
        lastMessage: { senderId: expect.stringMatching(/^pal/) },
      });
    }
    // Afterwards the moved conversations lead a new list, most recent first. (Pages that also serve
    // moved entries are more than 300 / 25, so more moved than 2 × 11.)
    expect(moved.length).toBeGreaterThanOrEqual(22);
    const newestFirst = [...new Set([...moved].reverse())];
    const fresh = await listPage('lia', undefined, newestFirst.length);
    expect((fresh.conversations as Entry[]).map((entry) => entry.conversationId)).toEqual(newestFirst);
  }, 120_000);

  it('refuses lia’s cursor to anyone else, and a made-up one', async () => {
    const first = await listPage('lia', undefined, 10);
    const cursor = String(first.nextCursor);
    const body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...body, u: 'AAAAAAAAAAAAAAAA' })).toString('base64url');

    for (const [userId, text] of [
      ['pal000', cursor],
      ['lia', forged],
      ['lia', 'bm90IGEgY3Vyc29y'],
    ] as const) {
      expect(await listPage(userId, text)).toMatchObject({
        type: 'error',
        code: 'bad_request',
        action: 'sync',
      });
    }
    // The genuine cursor still works for lia.
    expect(await listPage('lia', cursor, 10)).toMatchObject({ type: 'conversations' });
  });
});

describe('a user in 5,000 conversations', () => {
  const COUNT = 5_000;
  const id = (n: number) => `grp_big_${String(n).padStart(5, '0')}`;

  beforeAll(async () => {
    const createdAt = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 1_000).toISOString();
    const items = Array.from({ length: COUNT }, (_, n) => [
      {
        ...keys.conversation(id(n)),
        type: 'conversation',
        conversationId: id(n),
        kind: 'group',
        members: ['max', 'sam'],
        title: `Group ${n}`,
        createdAt: createdAt(n),
      },
      memberItem(
        { conversationId: id(n), kind: 'group', members: ['max', 'sam'], title: `Group ${n}` },
        'max',
        createdAt(n),
      ),
    ]).flat();
    const batches = [];
    for (let start = 0; start < items.length; start += 25) batches.push(items.slice(start, start + 25));
    await mapConcurrently(batches, 2, async (batch) => {
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      while (pending.length > 0) {
        const out = await dynamo.send(new BatchWriteCommand({ RequestItems: { [TABLE_NAME]: pending } }));
        pending = (out.UnprocessedItems?.[TABLE_NAME] ?? []) as typeof pending;
      }
    });
  }, 180_000);

  it('pages through all of them, none missing or repeated, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const frame = await listPage('max', cursor, 100);
      expect(frame.type).toBe('conversations');
      seen.push(...(frame.conversations as Entry[]).map((entry) => entry.conversationId));
      cursor = frame.nextCursor === null ? undefined : String(frame.nextCursor);
    } while (cursor !== undefined);

    expect(seen).toHaveLength(COUNT);
    expect(seen).toEqual(Array.from({ length: COUNT }, (_, i) => id(COUNT - 1 - i)));
  }, 180_000);
});
