/**
 * Guarantees 1 and 2 of architecture.md against DynamoDB Local: idempotent send under concurrent
 * retries, and gapless `seq` under concurrent senders.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import type { SendAckFrame } from '../../functions/domain/frames.ts';
import { directConversationId } from '../../functions/domain/identifiers.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { seedGroupConversation, seedUserState, storedMessages } from '../support/seed.ts';

async function send(frame: Record<string, unknown>, userId: string): Promise<SendAckFrame> {
  const response = await sendMessage(
    messageEvent({ action: 'sendMessage', ...frame }, { userId }),
    lambdaContext,
  );
  return JSON.parse(response.body ?? '{}') as SendAckFrame;
}

/**
 * A client as protocol.md describes it: on `internal` it retries with the same clientMessageId, and on
 * `rate_limited` it does after `retryAfterMs` (a hundred concurrent frames of one user contend for its
 * rate bucket too). Under extreme contention the server gives up after a deadline rather than holding
 * the connection; every lost race means another message committed, so retrying always ends. How many
 * retries that takes depends on how fast the machine is (DynamoDB Local shares it with the other test
 * files), so the bound here is only against a livelock, far above what any run needs.
 */
async function sendUntilAnswered(frame: Record<string, unknown>, userId: string): Promise<SendAckFrame> {
  for (let attempt = 1; ; attempt++) {
    const answer = (await send(frame, userId)) as SendAckFrame & { code?: string; retryAfterMs?: number };
    if ((answer.code !== 'internal' && answer.code !== 'rate_limited') || attempt === 1_000) return answer;
    if (answer.retryAfterMs !== undefined)
      await new Promise((resolve) => setTimeout(resolve, answer.retryAfterMs));
  }
}

/** A send receipt as a first attempt leaves it when it dies before its message is put. */
async function seedReceipt(receipt: {
  senderId: string;
  clientMessageId: string;
  conversationId: string;
  messageId: string;
  createdAt: string;
  seq: number;
}): Promise<void> {
  await dynamo.send(
    new PutCommand({
      TableName: TABLE_NAME,
      Item: {
        ...keys.sendReceipt(receipt.senderId, receipt.clientMessageId),
        type: 'sendReceipt',
        ...receipt,
      },
    }),
  );
}

/** Heavy contention against a DynamoDB Local the other files share: bounded by progress, not a clock. */
const CONTENTION_TIMEOUT_MS = 600_000;

describe('sendMessage idempotency', () => {
  it(
    'stores one message for 100 concurrent sends of one clientMessageId, with one duplicate:false ack',
    async () => {
      // GIVEN a new direct conversation target and one clientMessageId
      const clientMessageId = randomUUID();
      const frame = { to: 'bob', clientMessageId, content: 'hello once' };

      // WHEN alice's client sends it 100 times at once (retries racing the first attempt)
      const acks = await Promise.all(Array.from({ length: 100 }, () => sendUntilAnswered(frame, 'alice')));

      // THEN every answer is an ack for the same message, exactly one of them not a duplicate
      expect(acks.every((ack) => ack.type === 'ack')).toBe(true);
      expect(acks.filter((ack) => !ack.duplicate)).toHaveLength(1);
      expect(new Set(acks.map((ack) => ack.messageId)).size).toBe(1);
      expect(new Set(acks.map((ack) => `${ack.seq}|${ack.createdAt}|${ack.conversationId}`)).size).toBe(1);
      // AND the table holds exactly one message
      const stored = await storedMessages(directConversationId('alice', 'bob'));
      expect(stored.filter((item) => item.clientMessageId === clientMessageId)).toHaveLength(1);
    },
    CONTENTION_TIMEOUT_MS,
  );

  it('answers a late retry with the first commit as a duplicate', async () => {
    const frame = { to: 'carol', clientMessageId: randomUUID(), content: 'late retry' };
    const first = await send(frame, 'alice');
    await send({ to: 'carol', clientMessageId: randomUUID(), content: 'something else' }, 'alice');

    const retry = await send(frame, 'alice');

    expect(first.duplicate).toBe(false);
    expect(retry).toEqual({ ...first, duplicate: true });
  });

  it('finishes a first attempt that died between its receipt and its message, at the seq the receipt names', async () => {
    // GIVEN dan's first attempt put its receipt (message id m-first, seq 2) and died before the message,
    // while another message took seq 1
    const conversationId = directConversationId('dan', 'erin');
    await send({ to: 'erin', clientMessageId: randomUUID(), content: 'earlier' }, 'dan');
    const clientMessageId = randomUUID();
    const createdAt = '2026-12-07T10:00:00.000Z';
    await seedReceipt({
      senderId: 'dan',
      clientMessageId,
      conversationId,
      messageId: 'm-first',
      createdAt,
      seq: 2,
    });

    // WHEN the client retries with the same clientMessageId
    const retry = await send({ to: 'erin', clientMessageId, content: 'at last' }, 'dan');

    // THEN the message is stored once, with the first attempt's id, time and seq; this commit stored
    // it, so it is no duplicate (the first attempt never answered an ack)
    expect(retry).toMatchObject({ type: 'ack', messageId: 'm-first', seq: 2, createdAt, duplicate: false });
    const stored = await storedMessages(conversationId);
    expect(stored.map((item) => [item.seq, item.messageId === 'm-first' ? item.content : 'other'])).toEqual([
      [1, 'other'],
      [2, 'at last'],
    ]);
  });

  it('moves the receipt past a seq another message took, and answers every retry with the final seq', async () => {
    // GIVEN a receipt naming seq 1, which another message took before the first attempt's put
    const conversationId = directConversationId('fay', 'gus');
    const clientMessageId = randomUUID();
    const createdAt = '2026-12-07T11:00:00.000Z';
    await seedReceipt({
      senderId: 'fay',
      clientMessageId,
      conversationId,
      messageId: 'm-moved',
      createdAt,
      seq: 1,
    });
    await send({ to: 'gus', clientMessageId: randomUUID(), content: 'took seq 1' }, 'fay');

    // WHEN three retries race
    const acks = await Promise.all(
      [1, 2, 3].map(() => sendUntilAnswered({ to: 'gus', clientMessageId, content: 'moved' }, 'fay')),
    );

    // THEN the message is stored once, at seq 2, the receipt names seq 2, and one ack is its commit
    expect(new Set(acks.map((ack) => `${ack.messageId}|${ack.seq}`))).toEqual(new Set(['m-moved|2']));
    expect(acks.filter((ack) => !ack.duplicate)).toHaveLength(1);
    const stored = await storedMessages(conversationId);
    expect(stored.map((item) => item.seq)).toEqual([1, 2]);
    expect(stored.filter((item) => item.messageId === 'm-moved')).toHaveLength(1);
    const { Item } = await dynamo.send(
      new GetCommand({
        TableName: TABLE_NAME,
        Key: keys.sendReceipt('fay', clientMessageId),
        ConsistentRead: true,
      }),
    );
    expect(Item?.seq).toBe(2);
  });

  it('refuses a direct message to a deactivated user and stores nothing', async () => {
    await seedUserState('mallory', { deactivated: true });

    const answer = await send({ to: 'mallory', clientMessageId: randomUUID(), content: 'hi' }, 'alice');

    expect(answer).toMatchObject({ type: 'error', code: 'forbidden', action: 'sendMessage' });
    // Errors name nobody and say no why (protocol.md 1.2).
    expect(String((answer as unknown as Record<string, unknown>).message)).not.toMatch(/mallory|deactivated/);
    expect(await storedMessages(directConversationId('alice', 'mallory'))).toEqual([]);
  });
});

describe('sendMessage ordering', () => {
  it(
    'gives 100 concurrent sends from 4 senders the seqs 1..100, none missing or repeated',
    async () => {
      // GIVEN a group of four
      const conversationId = `group-${randomUUID()}`;
      const senders = ['ann', 'ben', 'cat', 'dan'];
      await seedGroupConversation(conversationId, senders);

      // WHEN each sends 25 messages, all 100 at once (200 took minutes on a busy 2-core machine, where
      // every send also contends for its sender's rate bucket; send-property.test.ts varies the rest)
      const acks = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          sendUntilAnswered(
            { conversationId, clientMessageId: `m-${i}`, content: `message ${i}` },
            senders[i % 4] ?? 'ann',
          ),
        ),
      );

      // THEN all were committed, with seq 1..100 in both the acks and the table
      expect(acks.filter((ack) => ack.type !== 'ack')).toEqual([]);
      const seqs = (list: { seq?: unknown }[]) => list.map((item) => Number(item.seq)).sort((a, b) => a - b);
      const expected = Array.from({ length: 100 }, (_, i) => i + 1);
      expect(seqs(acks)).toEqual(expected);
      const stored = await storedMessages(conversationId);
      expect(seqs(stored)).toEqual(expected);
      // AND each stored message is the one its ack names
      const bySeq = new Map(stored.map((item) => [Number(item.seq), item]));
      for (const ack of acks) expect(bySeq.get(ack.seq)?.messageId).toBe(ack.messageId);
    },
    CONTENTION_TIMEOUT_MS,
  );
});
