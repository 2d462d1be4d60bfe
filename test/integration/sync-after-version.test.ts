/**
 * `sync` by `afterVersion` (protocol.md 1.2, guarantee 11 of architecture.md) against DynamoDB Local: a
 * client that held a conversation up to some version and missed edits, deletions, reactions and new
 * messages gets every one of them, in its current state, by paging from the version it holds, and ends
 * equal to a fresh full read. Shown for a fixed story, for random histories with random page sizes
 * (fast-check), and while writers keep changing the conversation under a reader that pages on.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import type { MessagesFrame, MessageView } from '../../functions/domain/frames.ts';
import { handler as deleteMessage } from '../../functions/routes/delete-message.ts';
import { handler as editMessage } from '../../functions/routes/edit-message.ts';
import { handler as react } from '../../functions/routes/react.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { handler as delivery } from '../../functions/stream/delivery.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { seedGroupConversation } from '../support/seed.ts';
import { messageModify, streamEvent } from '../support/stream-events.ts';

type Answer = Record<string, unknown>;
const MEMBERS = ['ann', 'ben', 'cat'];

/** One frame, sent again after `internal` as a protocol client does. */
async function call(handler: typeof sendMessage, frame: Answer, userId: string): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const answer = JSON.parse((await handler(messageEvent(frame, { userId }), lambdaContext)).body ?? '{}');
    if (answer.code !== 'internal') return answer as Answer;
    // As the SDK does: a growing, jittered pause, so that retries never pile up on a busy table.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(5_000, 100 * 2 ** attempt)));
  }
}

async function newGroup(): Promise<string> {
  const id = `grp-version-${randomUUID()}`;
  await seedGroupConversation(id, MEMBERS);
  return id;
}

const send = (id: string, userId: string, content: string) =>
  call(
    sendMessage,
    { action: 'sendMessage', conversationId: id, clientMessageId: randomUUID(), content },
    userId,
  );

type Change =
  | { kind: 'send'; by: number; content: string }
  | { kind: 'edit'; of: number; content: string }
  | { kind: 'delete'; of: number }
  | { kind: 'react'; of: number; by: number; emoji: string; on: boolean };

/** Applies one change; those aimed at a message that is not there (or not the caller's) are refused, as in life. */
async function apply(id: string, change: Change, senders: Map<number, string>): Promise<void> {
  if (change.kind === 'send') {
    const ack = await send(id, MEMBERS[change.by % MEMBERS.length] as string, change.content);
    senders.set(Number(ack.seq), MEMBERS[change.by % MEMBERS.length] as string);
    return;
  }
  const seq = senders.size === 0 ? 1 : (change.of % senders.size) + 1;
  const sender = senders.get(seq) ?? 'ann';
  if (change.kind === 'edit') {
    await call(
      editMessage,
      { action: 'editMessage', conversationId: id, seq, content: change.content },
      sender,
    );
  } else if (change.kind === 'delete') {
    await call(deleteMessage, { action: 'deleteMessage', conversationId: id, seq }, sender);
  } else {
    const by = MEMBERS[change.by % MEMBERS.length] as string;
    await call(react, { action: 'react', conversationId: id, seq, emoji: change.emoji, on: change.on }, by);
  }
}

async function page(id: string, frame: Answer): Promise<MessagesFrame> {
  const answer = await call(sync, { action: 'sync', conversationId: id, ...frame }, 'ben');
  if (answer.type !== 'messages') throw new Error(`sync answered ${JSON.stringify(answer)}`);
  return answer as unknown as MessagesFrame;
}

/** What a client holds: each message's latest state by seq, and the version it has caught up to. */
interface Held {
  messages: Map<number, MessageView>;
  version: number;
}

/** Pages by `afterVersion` from what is held until the server says there is no more. */
async function catchUp(id: string, held: Held, limit: number): Promise<number> {
  let pages = 0;
  for (;;) {
    const result = await page(id, { afterVersion: held.version, limit });
    pages += 1;
    let previous = held.version;
    for (const message of result.messages) {
      // Ascending by version, every one beyond what was asked for.
      expect(message.version).toBeGreaterThan(previous);
      previous = message.version;
      const had = held.messages.get(message.seq);
      if (had === undefined || had.version <= message.version) held.messages.set(message.seq, message);
    }
    expect(result.version).toBe(result.messages.at(-1)?.version ?? held.version);
    held.version = result.version ?? held.version;
    if (!result.hasMore) return pages;
  }
}

/** A fresh full read by seq: the server's state. */
async function fullRead(id: string): Promise<Map<number, MessageView>> {
  const all = new Map<number, MessageView>();
  let afterSeq = 0;
  for (;;) {
    const result = await page(id, { afterSeq, limit: 100 });
    for (const message of result.messages) all.set(message.seq, message);
    afterSeq = result.messages.at(-1)?.seq ?? afterSeq;
    if (!result.hasMore) return all;
  }
}

/** Download links are signed per read: compare everything else. */
const comparable = (messages: Map<number, MessageView>) =>
  [...messages.values()].sort((a, b) => a.seq - b.seq).map(({ attachments: _links, ...rest }) => rest);

describe('sync by afterVersion against DynamoDB Local', () => {
  it('brings a client that held seqs 1–3 up to the edit of 1, the reaction to 2, the deletion of 3 and message 4', async () => {
    const id = await newGroup();
    for (const content of ['one', 'two', 'three']) await send(id, 'ann', content);
    const held: Held = { messages: new Map(), version: 0 };
    await catchUp(id, held, 50);
    expect(held.version).toBe(3_000_000);
    expect(await page(id, { afterSeq: 3 })).toMatchObject({ messages: [], hasMore: false });

    await call(
      editMessage,
      { action: 'editMessage', conversationId: id, seq: 1, content: 'one, edited' },
      'ann',
    );
    await call(deleteMessage, { action: 'deleteMessage', conversationId: id, seq: 3 }, 'ann');
    await call(react, { action: 'react', conversationId: id, seq: 2, emoji: '👍', on: true }, 'cat');
    await send(id, 'ben', 'four');

    const result = await page(id, { afterVersion: held.version });
    expect(result.messages.map((message) => [message.seq, message.version])).toEqual([
      [1, 3_000_001],
      [3, 3_000_002],
      [2, 3_000_003],
      [4, 4_000_000],
    ]);
    expect(result).toMatchObject({ hasMore: false, version: 4_000_000 });
    expect(result.messages[0]).toMatchObject({ content: 'one, edited', editedAt: expect.any(String) });
    expect(result.messages[1]).toMatchObject({ content: '', deleted: true });
    expect(result.messages[2]).toMatchObject({ content: 'two', reactions: { '👍': ['cat'] } });
    // A 1.1 client asking by seq gets only the new message, as before, with no page version.
    const bySeq = await page(id, { afterSeq: 3 });
    expect(bySeq.messages.map((message) => message.seq)).toEqual([4]);
    expect(bySeq.version).toBeUndefined();
  });

  it('lists each conversation at the version a catch-up ends at', async () => {
    const id = await newGroup();
    await send(id, 'ann', 'hello');
    await call(react, { action: 'react', conversationId: id, seq: 1, emoji: '🎉', on: true }, 'ben');
    // The list shows a change once the stream delivered it (delivery keeps the members' entries).
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: keys.message(id, 1), ConsistentRead: true }),
    );
    expect(await delivery(streamEvent(messageModify(Item)))).toEqual({ batchItemFailures: [] });
    const list = await call(sync, { action: 'sync' }, 'ben');
    const entry = (list.conversations as { conversationId: string; version: number }[]).find(
      (conversation) => conversation.conversationId === id,
    );
    const held: Held = { messages: new Map(), version: 0 };
    await catchUp(id, held, 10);
    expect(entry?.version).toBe(1_000_001);
    expect(held.version).toBe(entry?.version);
  });

  it('answers bad_request for a negative or fractional afterVersion, for both cursors at once, and for the list', async () => {
    const id = await newGroup();
    for (const frame of [
      { conversationId: id, afterVersion: -1 },
      { conversationId: id, afterVersion: 1.5 },
      { conversationId: id, afterVersion: '7' },
      { conversationId: id, afterVersion: 3, afterSeq: 0 },
      { afterVersion: 3 },
    ]) {
      expect(await call(sync, { action: 'sync', ...frame }, 'ben')).toMatchObject({
        type: 'error',
        code: 'bad_request',
        action: 'sync',
      });
    }
  });

  it('ends equal to a fresh read after any history, caught up at random moments with random page sizes', async () => {
    const change: fc.Arbitrary<Change> = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('send' as const),
          by: fc.nat(),
          content: fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim().length > 0),
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('edit' as const),
          of: fc.nat(),
          content: fc.constantFrom('edited', 'again', 'once more'),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), of: fc.nat() }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('react' as const),
          of: fc.nat(),
          by: fc.nat(),
          emoji: fc.constantFrom('👍', '❤️', '😂'),
          on: fc.boolean(),
        }),
      },
    );
    // Each step: a change, or a catch-up of one of two devices with its own page size.
    const step = fc.oneof(
      { weight: 4, arbitrary: change.map((c) => ({ change: c })) },
      {
        weight: 1,
        arbitrary: fc.record({ device: fc.nat({ max: 1 }), limit: fc.integer({ min: 1, max: 5 }) }),
      },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        const id = await newGroup();
        const senders = new Map<number, string>();
        const devices: Held[] = [0, 1].map(() => ({ messages: new Map(), version: 0 }));
        for (const next of steps) {
          if ('change' in next) await apply(id, next.change, senders);
          else await catchUp(id, devices[next.device] as Held, next.limit);
        }
        const server = comparable(await fullRead(id));
        for (const [index, device] of devices.entries()) {
          await catchUp(id, device, index === 0 ? 2 : 50);
          expect(comparable(device.messages)).toEqual(server);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('misses nothing committed while it pages: a reader catching up under three writers ends equal to a fresh read', async () => {
    const id = await newGroup();
    for (const content of ['a', 'b', 'c']) await send(id, 'ann', content);
    const senders = new Map<number, string>([
      [1, 'ann'],
      [2, 'ann'],
      [3, 'ann'],
    ]);
    let writing = true;
    const writer = async (by: number) => {
      for (let round = 0; round < 12; round++) {
        const seq = (round % senders.size) + 1;
        if (round % 4 === 0) await apply(id, { kind: 'send', by, content: `w${by}-${round}` }, senders);
        else if (round % 4 === 1)
          await apply(id, { kind: 'react', of: seq - 1, by, emoji: '👍', on: true }, senders);
        else if (round % 4 === 2)
          await apply(id, { kind: 'edit', of: seq - 1, content: `e${by}-${round}` }, senders);
        else await apply(id, { kind: 'react', of: seq - 1, by, emoji: '👍', on: false }, senders);
      }
    };
    const held: Held = { messages: new Map(), version: 0 };
    const reader = async () => {
      while (writing) await catchUp(id, held, 3);
    };
    const readerDone = reader();
    await Promise.all([writer(0), writer(1), writer(2)]);
    writing = false;
    await readerDone;
    await catchUp(id, held, 3);
    expect(comparable(held.messages)).toEqual(comparable(await fullRead(id)));
  });
});
