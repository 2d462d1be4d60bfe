/**
 * Every message once, in seq order: a `message` that skips ahead triggers `sync` from the highest
 * contiguous seq held, pages until `hasMore` is false; duplicates are dropped; a reconnect fetches the
 * list and syncs every conversation that is ahead.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../../../client/src/index.ts';
import { Timeline } from '../../../client/src/timeline.ts';
import { answerList, answerSync, connected, flush, message, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Timeline', () => {
  it('hands on every message once, in order, whatever order and repeats they arrive in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.shuffledSubarray(
              Array.from({ length: n * 2 }, (_, i) => (i % n) + 1),
              { minLength: n * 2, maxLength: n * 2 },
            ),
          ),
        ),
        ([n, arrivals]) => {
          const timeline = new Timeline();
          const seen = arrivals.flatMap((seq) => timeline.accept(message('c', seq)).map((m) => m.seq));
          expect(seen).toEqual(Array.from({ length: n }, (_, i) => i + 1));
          expect(timeline.held).toBe(n);
          expect(timeline.hasGap).toBe(false);
        },
      ),
    );
  });
});

describe('gaps and duplicates', () => {
  it('syncs from the held seq when a message skips ahead, and shows the gap filled in order', async () => {
    const client = newClient();
    const socket = await connected(client);
    const seen: number[] = [];
    client.on('message', (m) => seen.push(m.seq));
    socket.receive({ type: 'message', ...message('c1', 1) });
    socket.receive({ type: 'message', ...message('c1', 4) });
    await flush();
    // A conversation the list did not have: the list is fetched again first (same channel as sync).
    answerList(socket, ['c1']);
    await flush();
    expect(seen).toEqual([1]);
    expect(socket.sentOf('sync').at(-1)).toEqual({
      action: 'sync',
      conversationId: 'c1',
      afterSeq: 1,
      limit: 100,
    });
    answerSync(socket, 'c1', [message('c1', 2), message('c1', 3), message('c1', 4)]);
    await flush();
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(client.heldSeq('c1')).toBe(4);
  });

  it('pages until hasMore is false', async () => {
    const client = newClient();
    const socket = await connected(client);
    const seen: number[] = [];
    client.on('message', (m) => seen.push(m.seq));
    socket.receive({ type: 'message', ...message('c1', 250) });
    await flush();
    const page = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => message('c1', from + i));
    answerSync(socket, 'c1', page(1, 100), true);
    await flush();
    // The first message of a conversation the list did not have: the list is fetched again.
    answerList(socket, ['c1']);
    await flush();
    expect(socket.sentOf('sync').at(-1)).toMatchObject({ afterSeq: 100 });
    answerSync(socket, 'c1', page(101, 200), true);
    await flush();
    answerSync(socket, 'c1', page(201, 250), false);
    await flush();
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(socket.sentOf('sync').filter((f) => f.conversationId === 'c1')).toHaveLength(3);
  });

  it('drops a message it already holds (at-least-once delivery)', async () => {
    const client = newClient();
    const socket = await connected(client);
    const seen: string[] = [];
    client.on('message', (m) => seen.push(m.messageId));
    for (const seq of [1, 2, 1, 2, 2]) socket.receive({ type: 'message', ...message('c1', seq) });
    await flush();
    expect(seen).toEqual(['c1-m1', 'c1-m2']);
    expect(socket.sentOf('sync').filter((f) => f.conversationId !== undefined)).toEqual([]);
  });

  it('counts its own acknowledged messages as held, so they make no gap', async () => {
    const client = newClient();
    const socket = await connected(client);
    socket.receive({ type: 'message', ...message('c1', 1) });
    const sent = client.send({ conversationId: 'c1' }, 'reply');
    const [frame] = socket.sentOf('sendMessage');
    socket.receive({
      type: 'ack',
      action: 'sendMessage',
      clientMessageId: frame?.clientMessageId ?? '',
      conversationId: 'c1',
      messageId: 'mine',
      seq: 2,
      createdAt: '2026-12-02T10:00:00.000Z',
      duplicate: false,
    });
    await sent;
    socket.receive({ type: 'message', ...message('c1', 3) });
    await flush();
    expect(client.heldSeq('c1')).toBe(3);
    expect(socket.sentOf('sync').filter((f) => f.conversationId !== undefined)).toEqual([]);
  });
});

describe('after a reconnect', () => {
  it('fetches every page of the list and syncs each conversation that is ahead', async () => {
    const client = newClient();
    const socket = await connected(client);
    socket.receive({ type: 'message', ...message('c1', 1) });
    await flush();
    socket.drop();
    await vi.advanceTimersByTimeAsync(500);
    const next = FakeWebSocket.last;
    next.open();
    await flush();
    const summary = (conversationId: string, lastSeq: number) => ({
      conversationId,
      kind: 'direct' as const,
      members: ['alice', 'bob'],
      title: null,
      lastSeq,
      readSeq: 0,
      unread: lastSeq,
      lastMessage: message(conversationId, lastSeq),
    });
    next.receive({ type: 'conversations', conversations: [summary('c1', 3)], nextCursor: 'page-2' });
    await flush();
    expect(next.sentOf('sync').at(-1)).toEqual({ action: 'sync', cursor: 'page-2' });
    next.receive({
      type: 'conversations',
      conversations: [summary('c2', 2), summary('c3', 0)],
      nextCursor: null,
    });
    await flush();
    const seen: Message[] = [];
    client.on('message', (m) => seen.push(m));
    // One sync at a time: c1 from 1, then c2 from 0; c3 has nothing.
    expect(next.sentOf('sync').at(-1)).toEqual({
      action: 'sync',
      conversationId: 'c1',
      afterSeq: 1,
      limit: 100,
    });
    answerSync(next, 'c1', [message('c1', 2), message('c1', 3)]);
    await flush();
    expect(next.sentOf('sync').at(-1)).toEqual({
      action: 'sync',
      conversationId: 'c2',
      afterSeq: 0,
      limit: 100,
    });
    answerSync(next, 'c2', [message('c2', 1), message('c2', 2)]);
    await flush();
    expect(seen.map((m) => `${m.conversationId}:${m.seq}`)).toEqual(['c1:2', 'c1:3', 'c2:1', 'c2:2']);
    expect(client.conversations.map((c) => c.conversationId)).toEqual(['c1', 'c2', 'c3']);
    expect(next.sentOf('sync')).toHaveLength(4);
  });

  it('sends a sync again when the socket it went out on is lost before the answer', async () => {
    const client = newClient();
    const socket = await connected(client);
    socket.receive({ type: 'message', ...message('c1', 5) });
    await flush();
    socket.drop();
    await vi.advanceTimersByTimeAsync(500);
    const next = FakeWebSocket.last;
    next.open();
    await flush();
    expect(next.sentOf('sync')[0]).toEqual({ action: 'sync', conversationId: 'c1', afterSeq: 0, limit: 100 });
  });
});
