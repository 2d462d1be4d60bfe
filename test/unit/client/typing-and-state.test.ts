/**
 * Typing from keystrokes (a `start` at most every 3 s while typing, `stop` after 4 s idle or on send),
 * others' indicators until `stop`, their message or `expiresAt`; receipts, presence and unread counts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TypingChange } from '../../../client/src/index.ts';
import { connected, flush, message, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-12-02T10:00:00.000Z'));
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

const inFiveSeconds = () => new Date(Date.now() + 5_000).toISOString();

describe('typing', () => {
  it('turns keystrokes every 500 ms for 10 s into a start every 3 s and one stop after 4 s idle', async () => {
    const client = newClient();
    const socket = await connected(client);
    for (let i = 0; i < 20; i += 1) {
      client.typing({ conversationId: 'c1' });
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(socket.sentOf('typing').map((f) => f.state)).toEqual(['start', 'start', 'start', 'start']);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(socket.sentOf('typing').map((f) => f.state)).toEqual(['start', 'start', 'start', 'start', 'stop']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(socket.sentOf('typing')).toHaveLength(5);
  });

  it('stops at once when the message is sent', async () => {
    const client = newClient();
    const socket = await connected(client, {
      type: 'conversations',
      conversations: [
        {
          conversationId: 'dm-bob',
          kind: 'direct',
          members: ['alice', 'bob'],
          title: null,
          lastSeq: 0,
          readSeq: 0,
          unread: 0,
          lastMessage: null,
        },
      ],
      nextCursor: null,
    });
    client.typing({ to: 'bob' });
    void client.send({ to: 'bob' }, 'hi');
    expect(socket.sent.slice(1)).toMatchObject([
      { action: 'typing', state: 'start', conversationId: 'dm-bob' },
      { action: 'typing', state: 'stop', conversationId: 'dm-bob' },
      { action: 'sendMessage', conversationId: 'dm-bob', content: 'hi' },
    ]);
  });

  it('sends no typing to a user it has no conversation with yet (the server would refuse it)', async () => {
    const client = newClient();
    const socket = await connected(client);
    client.typing({ to: 'stranger' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(socket.sentOf('typing')).toEqual([]);
  });

  it("shows others' indicators until stop, their message, or expiresAt", async () => {
    const client = newClient();
    const socket = await connected(client);
    const changes: TypingChange[] = [];
    client.on('typing', (change) => changes.push(change));
    const typing = (userId: string, state: 'start' | 'stop') =>
      socket.receive({ type: 'typing', conversationId: 'c1', userId, state, expiresAt: inFiveSeconds() });
    typing('bob', 'start');
    typing('carol', 'start');
    expect(client.typingIn('c1')).toEqual(['bob', 'carol']);
    typing('bob', 'stop');
    expect(client.typingIn('c1')).toEqual(['carol']);
    socket.receive({ type: 'message', ...message('c1', 1, 'carol') });
    expect(client.typingIn('c1')).toEqual([]);
    typing('bob', 'start');
    await vi.advanceTimersByTimeAsync(3_000);
    typing('bob', 'start'); // repeated while typing: lapses 5 s after this one
    await vi.advanceTimersByTimeAsync(4_999);
    expect(client.typingIn('c1')).toEqual(['bob']);
    await vi.advanceTimersByTimeAsync(1);
    expect(client.typingIn('c1')).toEqual([]);
    expect(changes.map((c) => c.userIds.join('+'))).toEqual(['bob', 'bob+carol', 'carol', '', 'bob', '']);
  });

  it('ignores its own typing echoed from another device', async () => {
    const client = newClient();
    const socket = await connected(client);
    socket.receive({
      type: 'typing',
      conversationId: 'c1',
      userId: 'alice',
      state: 'start',
      expiresAt: inFiveSeconds(),
    });
    expect(client.typingIn('c1')).toEqual([]);
  });
});

describe('receipts, presence and the list', () => {
  it("keeps others' read and delivered positions, and presence", async () => {
    const client = newClient();
    const socket = await connected(client);
    socket.receive({
      type: 'delivered',
      conversationId: 'c1',
      userId: 'bob',
      seq: 4,
      deliveredAt: '2026-12-02T10:00:01.000Z',
    });
    socket.receive({
      type: 'read',
      conversationId: 'c1',
      userId: 'bob',
      seq: 3,
      readAt: '2026-12-02T10:00:02.000Z',
    });
    socket.receive({
      type: 'read',
      conversationId: 'c1',
      userId: 'bob',
      seq: 2,
      readAt: '2026-12-02T10:00:03.000Z',
    });
    socket.receive({
      type: 'presence',
      userId: 'bob',
      status: 'offline',
      lastSeen: '2026-12-02T10:00:04.000Z',
    });
    expect(client.deliveredTo('c1').get('bob')).toBe(4);
    expect(client.readBy('c1').get('bob')).toBe(3);
    expect(client.presenceOf('bob')).toEqual({
      type: 'presence',
      userId: 'bob',
      status: 'offline',
      lastSeen: '2026-12-02T10:00:04.000Z',
    });
  });

  it('counts unread messages from others and clears them on our read', async () => {
    const client = newClient();
    const socket = await connected(client, {
      type: 'conversations',
      conversations: [
        {
          conversationId: 'c1',
          kind: 'direct',
          members: ['alice', 'bob'],
          title: null,
          lastSeq: 1,
          readSeq: 0,
          unread: 1,
          lastMessage: message('c1', 1),
        },
        {
          conversationId: 'c2',
          kind: 'group',
          members: ['alice', 'bob', 'carol'],
          title: 'Team',
          lastSeq: 0,
          readSeq: 0,
          unread: 0,
          lastMessage: null,
        },
      ],
      nextCursor: null,
    });
    answerFirstSync(socket);
    await flush();
    socket.receive({ type: 'message', ...message('c2', 1, 'carol') });
    socket.receive({ type: 'message', ...message('c2', 2, 'carol') });
    expect(client.conversations.map((c) => [c.conversationId, c.unread])).toEqual([
      ['c2', 2],
      ['c1', 1],
    ]);
    const read = client.markRead('c2');
    expect(socket.sentOf('markRead')).toEqual([{ action: 'markRead', conversationId: 'c2', seq: 2 }]);
    socket.receive({
      type: 'read',
      conversationId: 'c2',
      userId: 'alice',
      seq: 2,
      readAt: '2026-12-02T10:00:05.000Z',
    });
    await read;
    expect(client.conversations.map((c) => [c.conversationId, c.unread])).toEqual([
      ['c2', 0],
      ['c1', 1],
    ]);
  });
});

/** The open's catch-up syncs c1 (lastSeq 1, nothing held yet): answer it. */
function answerFirstSync(socket: FakeWebSocket): void {
  socket.receive({ type: 'messages', conversationId: 'c1', messages: [message('c1', 1)], hasMore: false });
}
