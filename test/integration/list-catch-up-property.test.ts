/**
 * The conversation list's catch-up converges (architecture.md guarantee 11, protocol.md 1.2), as a
 * property over random histories, against DynamoDB Local and the real handlers: a user in several
 * direct conversations has two devices that each hold the list and catch up as the client SDK does
 * (pages of 2, newest change first, until a page ends with an entry the device holds unchanged, merged
 * into what it held), at random moments and page by page while the others write, read, edit and react.
 * Once every device has caught up after the last change, each holds exactly what a fresh read of every
 * page shows (presence aside: it does not move entries, see docs/design.md). Delivery runs on each
 * change as the stream would, one record at a time.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/keys.ts';
import { handler as editMessage } from '../../functions/routes/edit-message.ts';
import { handler as markRead } from '../../functions/routes/mark-read.ts';
import { handler as react } from '../../functions/routes/react.ts';
import { handler as sendMessage } from '../../functions/routes/send-message.ts';
import { handler as sync } from '../../functions/routes/sync.ts';
import { dynamo, TABLE_NAME } from '../../functions/shared/clients/dynamodb.ts';
import { handler as delivery } from '../../functions/stream/delivery.ts';
import { lambdaContext, messageEvent } from '../../local/harness/ws-events.ts';
import { messageInsert, messageModify, readModify, streamEvent } from '../support/stream-events.ts';

type Frame = Record<string, unknown>;
const PEERS = 5;
const DEVICES = 2;
const PAGE = 2;

async function call(handler: typeof sendMessage, frame: Frame, userId: string): Promise<Frame> {
  return JSON.parse((await handler(messageEvent(frame, { userId }), lambdaContext)).body ?? '{}') as Frame;
}

async function item(key: { PK: string; SK: string }): Promise<Record<string, unknown> | undefined> {
  return (await dynamo.send(new GetCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }))).Item;
}

async function deliver(record: Parameters<typeof streamEvent>[0]): Promise<void> {
  expect(await delivery(streamEvent(record))).toEqual({ batchItemFailures: [] });
}

/** What a device compares and keeps: the entry as the server sent it, presence aside. */
const comparable = (entry: Frame): string => {
  const { presence: _presence, ...rest } = entry;
  return JSON.stringify(rest);
};

/** One device's list and its catch-up in progress, page by page. */
class Device {
  readonly held = new Map<string, string>();
  #full = false;
  #paging: { cursor: string | undefined; read: Map<string, string> } | undefined;

  readonly userId: string;

  constructor(userId: string) {
    this.userId = userId;
  }

  get catchingUp(): boolean {
    return this.#paging !== undefined;
  }

  /** Reads the next page of its catch-up (starting one if none is under way); true once it is done. */
  async page(): Promise<boolean> {
    this.#paging ??= { cursor: undefined, read: new Map() };
    const paging = this.#paging;
    const frame = await call(
      sync,
      { action: 'sync', limit: PAGE, ...(paging.cursor !== undefined && { cursor: paging.cursor }) },
      this.userId,
    );
    expect(frame.type).toBe('conversations');
    const entries = frame.conversations as Frame[];
    for (const entry of entries) paging.read.set(String(entry.conversationId), comparable(entry));
    const last = entries.at(-1);
    const stop =
      this.#full && last !== undefined && this.held.get(String(last.conversationId)) === comparable(last);
    paging.cursor = typeof frame.nextCursor === 'string' ? frame.nextCursor : undefined;
    if (!stop && paging.cursor !== undefined) return false;
    if (!this.#full) this.held.clear();
    for (const [id, entry] of paging.read) this.held.set(id, entry);
    this.#full = true;
    this.#paging = undefined;
    return true;
  }

  async catchUp(): Promise<void> {
    while (!(await this.page())) {}
  }
}

/** Every page, nothing held: what the server shows now. */
async function freshRead(userId: string): Promise<Map<string, string>> {
  const device = new Device(userId);
  await device.catchUp();
  return device.held;
}

type Step =
  | { kind: 'send'; peer: number; fromMe: boolean }
  | { kind: 'read'; peer: number; byMe: boolean }
  | { kind: 'edit'; peer: number }
  | { kind: 'react'; peer: number; emoji: string; on: boolean }
  | { kind: 'page'; device: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      peer: fc.nat(PEERS - 1),
      fromMe: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('read' as const), peer: fc.nat(PEERS - 1), byMe: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('edit' as const), peer: fc.nat(PEERS - 1) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('react' as const),
      peer: fc.nat(PEERS - 1),
      emoji: fc.constantFrom('👍', '🎉'),
      on: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('page' as const), device: fc.nat(DEVICES - 1) }) },
);

/** A world of one user and `PEERS` direct conversations, each started by its peer. */
async function world(): Promise<{
  me: string;
  peers: string[];
  conversations: string[];
  last: Map<string, { seq: number; senderId: string }>;
}> {
  const run = randomUUID().slice(0, 8);
  const me = `me-${run}`;
  const peers = Array.from({ length: PEERS }, (_, i) => `peer${i}-${run}`);
  const conversations: string[] = [];
  const last = new Map<string, { seq: number; senderId: string }>();
  for (const peer of peers) {
    const ack = await call(
      sendMessage,
      { action: 'sendMessage', to: me, clientMessageId: randomUUID(), content: 'hi' },
      peer,
    );
    const conversationId = String(ack.conversationId);
    await deliver(messageInsert(await item(keys.message(conversationId, Number(ack.seq)))));
    conversations.push(conversationId);
    last.set(conversationId, { seq: Number(ack.seq), senderId: peer });
  }
  return { me, peers, conversations, last };
}

async function apply(s: Step, w: Awaited<ReturnType<typeof world>>, devices: Device[]): Promise<void> {
  if (s.kind === 'page') {
    await devices[s.device]?.page();
    return;
  }
  const conversationId = w.conversations[s.peer] as string;
  const peer = w.peers[s.peer] as string;
  const newest = w.last.get(conversationId) as { seq: number; senderId: string };
  if (s.kind === 'send') {
    const from = s.fromMe ? w.me : peer;
    const ack = await call(
      sendMessage,
      { action: 'sendMessage', conversationId, clientMessageId: randomUUID(), content: `m${newest.seq + 1}` },
      from,
    );
    expect(ack.type).toBe('ack');
    await deliver(messageInsert(await item(keys.message(conversationId, Number(ack.seq)))));
    w.last.set(conversationId, { seq: Number(ack.seq), senderId: from });
  } else if (s.kind === 'read') {
    const reader = s.byMe ? w.me : peer;
    const before = await item(keys.member(conversationId, reader));
    const answer = await call(markRead, { action: 'markRead', conversationId, seq: newest.seq }, reader);
    if (answer.type === 'error') return;
    const after = await item(keys.member(conversationId, reader));
    if (after?.readSeq !== before?.readSeq)
      await deliver(readModify(after, { readSeq: before?.readSeq ?? 0 }));
  } else if (s.kind === 'edit') {
    const answer = await call(
      editMessage,
      {
        action: 'editMessage',
        conversationId,
        seq: newest.seq,
        content: `edited ${randomUUID().slice(0, 4)}`,
      },
      newest.senderId,
    );
    if (answer.type !== 'ack') return;
    await deliver(messageModify(await item(keys.message(conversationId, newest.seq))));
  } else {
    const answer = await call(
      react,
      { action: 'react', conversationId, seq: newest.seq, emoji: s.emoji, on: s.on },
      peer,
    );
    if (answer.type !== 'ack') return;
    await deliver(messageModify(await item(keys.message(conversationId, newest.seq))));
  }
}

describe('the conversation list under random histories (DynamoDB Local)', () => {
  it('leaves every device holding what a fresh read shows, once each caught up after the last change', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 30 }), async (steps) => {
        const w = await world();
        const devices = Array.from({ length: DEVICES }, () => new Device(w.me));
        for (const device of devices) await device.catchUp();
        for (const s of steps) await apply(s, w, devices);
        // Nothing changes from here on: every catch-up under way ends, then each device catches up once.
        for (const device of devices) {
          if (device.catchingUp) await device.catchUp();
          await device.catchUp();
        }
        const server = await freshRead(w.me);
        expect(server.size).toBe(PEERS);
        for (const device of devices) expect(device.held).toEqual(server);
      }),
      { numRuns: 25 },
    );
  }, 300_000);
});
