/**
 * Guarantee 2 of architecture.md for readers, against DynamoDB Local: `sync` pages are gapless and
 * repeat-free by construction. While several senders commit concurrently, readers walk the
 * conversation from random `afterSeq`s with random `limit`s, each page starting after the last `seq`
 * the previous one returned; once the senders are done, every walk has seen exactly afterSeq+1..n,
 * in order. And pages of the largest messages stay under 128 KiB.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES } from '../../functions/domain/frame-size.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { seedGroupConversation } from '../support/seed.ts';

const SENDERS = ['ann', 'ben', 'cat'];

async function send(conversationId: string, sender: string, clientMessageId: string, content: string) {
  for (;;) {
    const event = messageEvent(
      { action: 'sendMessage', conversationId, clientMessageId, content },
      { userId: sender },
    );
    const answer = JSON.parse((await sendMessage(event, lambdaContext)).body ?? '{}');
    // A protocol client retries `internal` with the same clientMessageId.
    if (answer.code !== 'internal') return answer;
  }
}

interface Page {
  bytes: number;
  messages: { seq: number; content: string }[];
  hasMore: boolean;
}

async function page(conversationId: string, afterSeq: number, limit: number): Promise<Page> {
  const response = await sync(
    messageEvent({ action: 'sync', conversationId, afterSeq, limit }, { userId: 'ann' }),
    lambdaContext,
  );
  const frame = JSON.parse(response.body ?? '{}');
  expect(frame.type).toBe('messages');
  return { bytes: Buffer.byteLength(response.body ?? ''), messages: frame.messages, hasMore: frame.hasMore };
}

/** Walks from `afterSeq` with the given limits (cycled) until a page says there is no more. */
async function walk(conversationId: string, afterSeq: number, limits: number[]): Promise<number[]> {
  const seen: number[] = [];
  let position = afterSeq;
  for (let i = 0; ; i++) {
    const next = await page(conversationId, position, limits[i % limits.length] ?? 50);
    seen.push(...next.messages.map((message) => message.seq));
    position = next.messages.at(-1)?.seq ?? position;
    if (!next.hasMore) return seen;
  }
}

describe('sync walks while senders commit', () => {
  it('reassemble exactly afterSeq+1..n, whatever the start and the page sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 30 }),
        fc.array(
          fc.record({
            start: fc.nat(),
            limits: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 4 }),
          }),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        async (count, walks) => {
          const run = randomUUID().slice(0, 8);
          const conversationId = `sync-${run}`;
          await seedGroupConversation(conversationId, SENDERS);
          // Some messages first, so that walks can start inside the conversation.
          for (let i = 0; i < 3; i++) await send(conversationId, 'ann', `${run}-pre-${i}`, `pre ${i}`);

          // WHEN three senders commit `count` messages concurrently while the readers walk
          const sending = Promise.all(
            Array.from({ length: count }, (_, i) =>
              send(conversationId, SENDERS[i % SENDERS.length] ?? 'ann', `${run}-${i}`, `message ${i}`),
            ),
          );
          const starts = walks.map(({ start }) => start % 4);
          const during = Promise.all(
            walks.map(({ limits }, i) => walk(conversationId, starts[i] ?? 0, limits)),
          );
          const [, firstPasses] = await Promise.all([sending, during]);

          // THEN each walk, continued from where it stopped after the senders finished, saw every seq once
          const total = count + 3;
          for (const [i, { limits }] of walks.entries()) {
            const start = starts[i] ?? 0;
            const first = firstPasses[i] ?? [];
            const rest = await walk(conversationId, first.at(-1) ?? start, limits);
            expect([...first, ...rest]).toEqual(
              Array.from({ length: total - start }, (_, k) => start + k + 1),
            );
          }
        },
      ),
      { numRuns: 8 },
    );
  });
});

describe('sync of the largest messages', () => {
  it('keeps 100 messages of 4,000 multi-byte characters in pages under 128 KiB, losing none', async () => {
    const run = randomUUID().slice(0, 8);
    const conversationId = `sync-big-${run}`;
    await seedGroupConversation(conversationId, SENDERS);
    const content = (i: number) => `${'语'.repeat(1999)}${'😀'.repeat(2000)}${i % 10}`;
    for (let i = 0; i < 100; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, k) => send(conversationId, 'ben', `${run}-${i + k}`, content(i + k))),
      );
    }

    const pages: Page[] = [];
    let afterSeq = 0;
    for (;;) {
      const next = await page(conversationId, afterSeq, 100);
      pages.push(next);
      afterSeq = next.messages.at(-1)?.seq ?? afterSeq;
      if (!next.hasMore) break;
    }

    for (const { bytes, messages } of pages) {
      expect(bytes).toBeLessThanOrEqual(MAX_FRAME_BYTES);
      expect(messages.length).toBeGreaterThan(0);
    }
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.flatMap(({ messages }) => messages.map((message) => message.seq))).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    // Content comes back exactly as sent.
    expect(pages[0]?.messages[0]?.content.length).toBe(content(0).length);
  });
});
