/**
 * The send guarantees as a property (fast-check): any interleaving of sends and retries, from several
 * senders, leaves exactly one message per (sender, clientMessageId), with `seq`s forming 1..n, and
 * every ack of one (sender, clientMessageId) naming that one message.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SendAckFrame } from '../../functions/domain/frames.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { seedGroupConversation, storedMessages } from '../support/seed.ts';

const SENDERS = ['ann', 'ben', 'cat'];

/** One send attempt: who, which clientMessageId (small range, so retries are common). */
const attempt = fc.record({
  sender: fc.integer({ min: 0, max: 2 }),
  message: fc.integer({ min: 0, max: 5 }),
});
/** Attempts grouped into waves; a wave's attempts run concurrently, waves run one after another. */
const schedule = fc.array(fc.array(attempt, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 });

async function send(conversationId: string, sender: string, clientMessageId: string): Promise<SendAckFrame> {
  for (;;) {
    const event = messageEvent(
      { action: 'sendMessage', conversationId, clientMessageId, content: `${sender} ${clientMessageId}` },
      { userId: sender },
    );
    const answer = JSON.parse((await sendMessage(event, lambdaContext)).body ?? '{}');
    // A protocol client retries `internal` with the same clientMessageId.
    if (answer.code !== 'internal') return answer as SendAckFrame;
  }
}

describe('sendMessage under any interleaving of sends and retries', () => {
  it('keeps one message per (sender, clientMessageId) and seqs 1..n', async () => {
    await fc.assert(
      fc.asyncProperty(schedule, async (waves) => {
        // clientMessageIds are unique per sender for all time, so each run draws its own.
        const run = randomUUID().slice(0, 8);
        const conversationId = `prop-${run}`;
        await seedGroupConversation(conversationId, SENDERS);
        const acks: { pair: string; ack: SendAckFrame }[] = [];
        for (const wave of waves) {
          const answers = await Promise.all(
            wave.map(async ({ sender, message }) => {
              const senderId = SENDERS[sender] ?? 'ann';
              const clientMessageId = `${run}-${message}`;
              return {
                pair: `${senderId}/${clientMessageId}`,
                ack: await send(conversationId, senderId, clientMessageId),
              };
            }),
          );
          acks.push(...answers);
        }

        const pairs = new Set(acks.map(({ pair }) => pair));
        const stored = await storedMessages(conversationId);
        expect(stored).toHaveLength(pairs.size);
        expect(stored.map((item) => item.seq)).toEqual(Array.from({ length: pairs.size }, (_, i) => i + 1));
        for (const pair of pairs) {
          const answers = acks.filter((entry) => entry.pair === pair).map(({ ack }) => ack);
          expect(answers.filter((ack) => ack.type === 'ack' && !ack.duplicate)).toHaveLength(1);
          expect(new Set(answers.map((ack) => ack.messageId)).size).toBe(1);
          const item = stored.find((entry) => `${entry.senderId}/${entry.clientMessageId}` === pair);
          expect(item?.messageId).toBe(answers[0]?.messageId);
        }
      }),
      { numRuns: 25 },
    );
  });
});
