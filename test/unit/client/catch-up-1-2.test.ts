/**
 * The SDK against protocol 1.2's catch-up: it syncs a conversation by `afterVersion` from the version
 * it applied last (and only when the list says the conversation moved beyond it), applies changed
 * messages it handed on already as updates, keeps that version across restarts, counts unread by the
 * server's rule (sending reads), and shows ticks and presence from the list before any live frame.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationSummary, Message } from '../../../client/src/index.ts';
import { memoryStorage } from '../../../client/src/storage.ts';
import { connected, flush, message, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-12-07T10:00:00.000Z'));
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

const versioned = (m: Message, version = m.seq * 1_000_000): Message => ({ ...m, version });

function summary(fields: Partial<ConversationSummary> = {}): ConversationSummary {
  return {
    conversationId: 'c1',
    kind: 'direct',
    members: ['alice', 'bob'],
    title: null,
    lastSeq: 2,
    readSeq: 2,
    unread: 0,
    lastMessage: null,
    version: 2_000_000,
    receipts: [{ userId: 'bob', readSeq: 2, deliveredSeq: 2 }],
    presence: { status: 'online', lastSeen: null },
    ...fields,
  };
}

const list = (...conversations: ConversationSummary[]) => ({
  type: 'conversations' as const,
  conversations,
  nextCursor: null,
});

describe('catch-up by version', () => {
  it('syncs from version 0 on a fresh device, then only from the version it reached', async () => {
    const storage = memoryStorage();
    const client = newClient({ storage });
    const socket = await connected(client, list(summary()));
    expect(socket.sentOf('sync').at(-1)).toEqual({
      action: 'sync',
      conversationId: 'c1',
      afterVersion: 0,
      limit: expect.any(Number),
    });
    socket.receive({
      type: 'messages',
      conversationId: 'c1',
      messages: [versioned(message('c1', 1, 'alice')), versioned(message('c1', 2))],
      hasMore: false,
      version: 2_000_000,
    });
    await flush();
    expect(client.messages('c1').map((m) => m.seq)).toEqual([1, 2]);

    // A restart: the version applied is kept, and a list at that version syncs nothing.
    client.close();
    FakeWebSocket.reset();
    const again = newClient({ storage });
    const second = await connected(again, list(summary()));
    expect(second.sentOf('sync').filter((frame) => frame.conversationId === 'c1')).toEqual([]);
  });

  it('syncs changes once more when a catch-up is asked for while one runs, and waits for it', async () => {
    // GIVEN a reconnect's catch-up by version under way (its sync sent, not answered yet)
    const client = newClient();
    const socket = await connected(client, list(summary()));
    expect(socket.sentOf('sync').filter((f) => f.conversationId === 'c1')).toHaveLength(1);

    // WHEN its first page comes (more to come), and the app asks for a catch-up meanwhile, whose list says
    // the conversation moved on (a change committed after that sync read)
    let caughtUp = false;
    const asked = client.catchUp().then(() => {
      caughtUp = true;
    });
    socket.receive({
      type: 'messages',
      conversationId: 'c1',
      messages: [versioned(message('c1', 1, 'alice'))],
      hasMore: true,
      version: 1_000_000,
    });
    await flush();
    socket.receive(list(summary({ version: 2_000_001 })));
    await flush();
    socket.receive({
      type: 'messages',
      conversationId: 'c1',
      messages: [versioned(message('c1', 2))],
      hasMore: false,
      version: 2_000_000,
    });
    await flush();

    // THEN a second sync follows from the version the first reached, and the request waits for it
    const syncs = socket.sentOf('sync').filter((f) => f.conversationId === 'c1');
    expect(syncs.map((f) => f.afterVersion)).toEqual([0, 1_000_000, 2_000_000]);
    expect(caughtUp).toBe(false);
    socket.receive({
      type: 'messages',
      conversationId: 'c1',
      messages: [{ ...versioned(message('c1', 2), 2_000_001), content: 'edited' }],
      hasMore: false,
      version: 2_000_001,
    });
    await asked;
    expect(client.message('c1', 2)?.content).toBe('edited');
  });

  it('applies a change of a message it handed on as an update, and a new one as a message', async () => {
    const client = newClient();
    const socket = await connected(client, list(summary()));
    socket.receive({
      type: 'messages',
      conversationId: 'c1',
      messages: [versioned(message('c1', 1)), versioned(message('c1', 2))],
      hasMore: false,
      version: 2_000_000,
    });
    await flush();
    const updates: unknown[] = [];
    client.on('messageUpdated', (frame) => updates.push(frame));

    // Offline meanwhile: bob edited 1 and sent 3. The next list says version 3,000,000.
    socket.close();
    await vi.advanceTimersByTimeAsync(60_000);
    const next = FakeWebSocket.last;
    next.open();
    await flush();
    next.receive(list(summary({ lastSeq: 3, version: 3_000_000, unread: 1 })));
    await flush();
    expect(next.sentOf('sync').at(-1)).toMatchObject({ conversationId: 'c1', afterVersion: 2_000_000 });
    next.receive({
      type: 'messages',
      conversationId: 'c1',
      messages: [
        {
          ...versioned(message('c1', 1), 2_000_001),
          content: 'edited',
          editedAt: '2026-12-07T10:00:30.000Z',
        },
        versioned(message('c1', 3)),
      ],
      hasMore: false,
      version: 3_000_000,
    });
    await flush();
    expect(updates).toEqual([expect.objectContaining({ seq: 1, content: 'edited', version: 2_000_001 })]);
    expect(client.messages('c1').map((m) => [m.seq, m.content])).toEqual([
      [1, 'edited'],
      [2, 'message 2'],
      [3, 'message 3'],
    ]);
  });
});

describe('the list as a fresh device sees it', () => {
  it('shows the ticks and the presence of the contact before any live frame', async () => {
    const client = newClient();
    await connected(client, list(summary({ receipts: [{ userId: 'bob', readSeq: 1, deliveredSeq: 2 }] })));
    expect(client.readBy('c1').get('bob')).toBe(1);
    expect(client.deliveredTo('c1').get('bob')).toBe(2);
    expect(client.presenceOf('bob')).toEqual({ status: 'online' });
  });

  it('counts unread as the server does: our own message reads what came before it', async () => {
    const client = newClient();
    const socket = await connected(client, list(summary({ version: undefined, lastSeq: 0, readSeq: 0 })));
    // bob 1, bob 2 (unread 2); alice 3 (she read them); bob 4: unread 1.
    for (const [seq, from] of [
      [1, 'bob'],
      [2, 'bob'],
    ] as const) {
      socket.receive({ type: 'message', ...message('c1', seq, from) });
    }
    expect(client.conversations[0]?.unread).toBe(2);
    socket.receive({ type: 'message', ...message('c1', 3, 'alice') });
    expect(client.conversations[0]).toMatchObject({ unread: 0, readSeq: 3 });
    socket.receive({ type: 'message', ...message('c1', 4, 'bob') });
    expect(client.conversations[0]).toMatchObject({ unread: 1, readSeq: 3 });
    // bob's message says he read up to it
    expect(client.readBy('c1').get('bob')).toBe(4);
  });
});
