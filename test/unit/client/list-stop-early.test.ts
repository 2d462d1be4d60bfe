/**
 * The conversation list on a reconnect: the server lists the latest changed entry first (presence
 * aside), so after one full fetch the SDK reads pages only until one it holds unchanged, merges what it
 * read into the list it holds, and keeps showing that list newest message first. A lost connection
 * forgets who was online.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConversationList } from '../../../client/src/conversation-list.ts';
import type { ConversationSummary, KeyValueStorage } from '../../../client/src/index.ts';
import { memoryStorage } from '../../../client/src/storage.ts';
import { flush, listRequests, message, newClient, serveList } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-12-07T10:00:00.000Z'));
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

const NOW = Date.UTC(2026, 11, 7, 9, 0, 0);
const minutesAgo = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ids = (numbers: number[]) => numbers.map((n) => `c${n}`);

/** Conversation `c{n}` with `u{n}`: alice's message 3 (n minutes ago), which u{n} has received, not read. */
function entry(n: number, fields: Partial<ConversationSummary> = {}): ConversationSummary {
  const conversationId = `c${n}`;
  const peer = `u${n}`;
  return {
    conversationId,
    kind: 'direct',
    members: ['alice', peer],
    title: null,
    lastSeq: 3,
    readSeq: 3,
    unread: 0,
    lastMessage: { ...message(conversationId, 3, 'alice'), createdAt: minutesAgo(n), version: 3_000_000 },
    version: 3_000_000,
    receipts: [{ userId: peer, readSeq: 2, deliveredSeq: 3 }],
    presence: { status: 'offline', lastSeen: minutesAgo(n) },
    ...fields,
  };
}

/** u{n} read alice's message: no new version, but the entry moves to the front of the server's list. */
const readByPeer = (n: number) => entry(n, { receipts: [{ userId: `u${n}`, readSeq: 3, deliveredSeq: 3 }] });

const pagesOf = (entries: ConversationSummary[], size = 4): ConversationSummary[][] =>
  Array.from({ length: Math.ceil(entries.length / size) }, (_, i) => entries.slice(i * size, (i + 1) * size));

const conversationSyncs = (socket: FakeWebSocket) =>
  socket.sentOf('sync').filter((frame) => frame.conversationId !== undefined);

/** Storage that holds every message and version of these entries (a catch-up then syncs none). */
async function storageHolding(entries: ConversationSummary[]) {
  const storage = memoryStorage();
  const of = (value: (summary: ConversationSummary) => number | undefined) =>
    JSON.stringify(Object.fromEntries(entries.map((summary) => [summary.conversationId, value(summary)])));
  await storage.setItem(
    'parley:alice:held',
    of((summary) => summary.lastSeq),
  );
  await storage.setItem(
    'parley:alice:versions',
    of((summary) => summary.version),
  );
  return storage;
}

/** Connects a client and serves it this list, in pages of 4. */
async function started(entries: ConversationSummary[], storage?: KeyValueStorage) {
  const client = newClient({ storage: storage ?? (await storageHolding(entries)) });
  client.connect();
  await flush();
  const socket = FakeWebSocket.last;
  socket.open();
  await flush();
  const asked = await serveList(socket, pagesOf(entries));
  return { client, socket, asked };
}

async function reconnect(socket: FakeWebSocket): Promise<FakeWebSocket> {
  socket.drop();
  await vi.advanceTimersByTimeAsync(1_000);
  const next = FakeWebSocket.last;
  expect(next).not.toBe(socket);
  next.open();
  await flush();
  return next;
}

describe('the first fetch', () => {
  it('reads every page and shows the list newest message first', async () => {
    const entries = range(1, 12).map((n) => entry(n));
    const { client, socket, asked } = await started(entries);
    expect(asked).toBe(3);
    expect(listRequests(socket).map((frame) => frame.cursor)).toEqual([undefined, 'page-1', 'page-2']);
    expect(client.conversations.map((summary) => summary.conversationId)).toEqual(ids(range(1, 12)));
    expect(conversationSyncs(socket)).toEqual([]);
  });

  it('goes on past an empty page', async () => {
    const client = newClient({ storage: await storageHolding([]) });
    client.connect();
    await flush();
    const socket = FakeWebSocket.last;
    socket.open();
    await flush();
    expect(await serveList(socket, [[entry(1)], [], [entry(2)]])).toBe(3);
    expect(client.conversations.map((summary) => summary.conversationId)).toEqual(['c1', 'c2']);
  });

  it('is a full one again when the previous one was cut short', async () => {
    const entries = range(1, 8).map((n) => entry(n));
    const client = newClient({ storage: await storageHolding(entries) });
    client.connect();
    await flush();
    const first = FakeWebSocket.last;
    first.open();
    await flush();
    first.receive({ type: 'conversations', conversations: entries.slice(0, 4), nextCursor: 'page-1' });
    await flush();
    client.close();
    await flush();
    expect(client.conversations).toEqual([]);

    client.connect();
    await flush();
    const second = FakeWebSocket.last;
    second.open();
    await flush();
    // Page 1 is the same as before, and page 2 is empty: a full fetch still reads on.
    expect(await serveList(second, [entries.slice(0, 4), [], entries.slice(4)])).toBe(3);
    expect(client.conversations.map((summary) => summary.conversationId)).toEqual(ids(range(1, 8)));
  });

  it('is a full one after a restart: the list itself is not stored', async () => {
    const entries = range(1, 12).map((n) => entry(n));
    const storage = await storageHolding(entries);
    const { client } = await started(entries, storage);
    client.close();
    FakeWebSocket.reset();
    const { asked } = await started(entries, storage);
    expect(asked).toBe(3);
  });
});

describe('a reconnect', () => {
  it('reads one page when nothing changed', async () => {
    const entries = range(1, 12).map((n) => entry(n));
    const { client, socket } = await started(entries);
    const before = client.conversations;
    const next = await reconnect(socket);
    expect(await serveList(next, pagesOf(entries))).toBe(1);
    expect(client.conversations).toEqual(before);
    expect(conversationSyncs(next)).toEqual([]);
  });

  it('reads the changed page, then stops at the first page it holds unchanged', async () => {
    const entries = range(1, 12).map((n) => entry(n));
    const { client, socket } = await started(entries);
    const next = await reconnect(socket);
    // Only page 1 changed: each of u1..u4 read alice's message.
    const now = [...range(1, 4).map(readByPeer), ...range(5, 12).map((n) => entry(n))];
    expect(await serveList(next, pagesOf(now))).toBe(2);
    expect(listRequests(next).map((frame) => frame.cursor)).toEqual([undefined, 'page-1']);
    expect(client.conversations.find((summary) => summary.conversationId === 'c2')?.receipts).toEqual([
      { userId: 'u2', readSeq: 3, deliveredSeq: 3 },
    ]);
    expect(client.readBy('c2').get('u2')).toBe(3);
    expect(client.conversations.map((summary) => summary.conversationId)).toEqual(ids(range(1, 12)));
  });

  it('reads on while a page ends with a change, syncs only the read entries whose version moved, and keeps the rest', async () => {
    const entries = range(1, 16).map((n) => entry(n));
    const { client, socket } = await started(entries);
    const unread = client.conversations.filter((summary) => Number(summary.conversationId.slice(1)) > 12);
    const next = await reconnect(socket);
    // u1..u4 read alice's message, then u10 sent message 4 (a new version): the server lists the five
    // first, latest change first, then the others as before. c16 is gone (a group left meanwhile).
    const c10 = entry(10, {
      lastSeq: 4,
      unread: 1,
      version: 4_000_000,
      lastMessage: { ...message('c10', 4, 'u10'), createdAt: minutesAgo(0), version: 4_000_000 },
      receipts: [{ userId: 'u10', readSeq: 4, deliveredSeq: 4 }],
    });
    const now = [
      c10,
      ...[4, 3, 2, 1].map(readByPeer),
      ...[5, 6, 7, 8, 9, 11, 12, 13, 14, 15].map((n) => entry(n)),
    ];
    // Page 1 ends with a change (u2 read); page 2 ends with c7, held unchanged: nothing after it changed.
    expect(await serveList(next, pagesOf(now))).toBe(2);
    expect(listRequests(next).map((frame) => frame.cursor)).toEqual([undefined, 'page-1']);

    // Only c10 moved beyond the version applied.
    expect(conversationSyncs(next)).toEqual([
      { action: 'sync', conversationId: 'c10', afterVersion: 3_000_000, limit: 100 },
    ]);
    next.receive({
      type: 'messages',
      conversationId: 'c10',
      messages: [{ ...message('c10', 4, 'u10'), createdAt: minutesAgo(0), version: 4_000_000 }],
      hasMore: false,
      version: 4_000_000,
    });
    await flush();
    expect(client.heldSeq('c10')).toBe(4);
    expect(conversationSyncs(next)).toHaveLength(1);

    // Shown by newest message, not by the server's order of changes; what was not read stays as it was.
    expect(client.conversations.map((summary) => summary.conversationId)).toEqual(
      ids([10, ...range(1, 9), ...range(11, 16)]),
    );
    expect(client.conversations.find((summary) => summary.conversationId === 'c1')?.receipts).toEqual([
      { userId: 'u1', readSeq: 3, deliveredSeq: 3 },
    ]);
    expect(client.conversations.slice(-4)).toEqual(unread);
  });

  it('does not read on for a page whose entries differ only in presence, and takes that presence', async () => {
    const entries = range(1, 12).map((n) => entry(n));
    const { client, socket } = await started(entries);
    const next = await reconnect(socket);
    const now = [
      entry(1, { presence: { status: 'online', lastSeen: null } }),
      entry(2, { presence: { status: 'offline', lastSeen: minutesAgo(0) } }),
      ...range(3, 12).map((n) => entry(n)),
    ];
    expect(await serveList(next, pagesOf(now))).toBe(1);
    expect(client.presenceOf('u1')).toEqual({ status: 'online' });
    expect(client.presenceOf('u2')).toEqual({ status: 'offline', lastSeen: minutesAgo(0) });
    expect(client.conversations[0]?.presence).toEqual({ status: 'online', lastSeen: null });
  });

  it('holds an entry served twice (it changed while the client paged) once, as its later copy', async () => {
    const entries = range(1, 12).map((n) => entry(n));
    const { client, socket } = await started(entries);
    const next = await reconnect(socket);
    const c10 = entry(10, {
      lastSeq: 4,
      unread: 1,
      version: 4_000_000,
      lastMessage: { ...message('c10', 4, 'u10'), createdAt: minutesAgo(0), version: 4_000_000 },
    });
    const pages = [
      [readByPeer(10), ...[1, 2, 3].map(readByPeer)],
      [c10, ...[4, 5, 6].map((n) => entry(n))],
      [7, 8, 9, 11].map((n) => entry(n)),
      [entry(12)],
    ];
    expect(await serveList(next, pages)).toBe(2);
    expect(client.conversations.map((summary) => summary.conversationId)).toEqual(
      ids([10, ...range(1, 9), 11, 12]),
    );
    expect(client.conversations[0]).toEqual(c10);
  });

  it('reads on past a page with no entries (all hidden), to one that ends with an entry held unchanged', async () => {
    const entries = range(1, 12).map((n) => entry(n));
    const { socket } = await started(entries);
    const next = await reconnect(socket);
    const pages = [
      range(1, 4).map(readByPeer),
      [],
      range(5, 8).map((n) => entry(n)),
      range(9, 12).map((n) => entry(n)),
    ];
    expect(await serveList(next, pages)).toBe(3);
  });

  it('stops at a page whose changed entries come before one held unchanged', async () => {
    const entries = range(1, 12).map((n) => entry(n));
    const { socket } = await started(entries);
    const next = await reconnect(socket);
    const pages = [[readByPeer(1), readByPeer(2), entry(3), entry(4)], range(5, 8).map((n) => entry(n))];
    expect(await serveList(next, pages)).toBe(1);
  });
});

describe('presence across a lost connection', () => {
  it('forgets every presence when the socket drops, and learns it again from the list and frames', async () => {
    const online = { status: 'online', lastSeen: null } as const;
    const entries = range(1, 12).map((n) => (n === 1 || n === 9 ? entry(n, { presence: online }) : entry(n)));
    const { client, socket } = await started(entries);
    socket.receive({ type: 'presence', userId: 'zed', status: 'online' });
    expect(client.presenceOf('u1')).toEqual({ status: 'online' });
    const changes: unknown[] = [];
    client.on('presence', (change) => changes.push(change));

    const next = await reconnect(socket);
    // Online or offline, what was known may be wrong by the time the catch-up stops: all of it goes.
    expect(changes).toContainEqual({ type: 'presence', userId: 'u1', status: 'unknown' });
    expect(changes).toContainEqual({ type: 'presence', userId: 'u2', status: 'unknown' });
    expect(changes).toContainEqual({ type: 'presence', userId: 'zed', status: 'unknown' });
    expect(client.presenceOf('u1')).toBeUndefined();
    expect(client.presenceOf('u2')).toBeUndefined();
    expect(client.presenceOf('zed')).toBeUndefined();

    // Nothing changed: page 1 is read (u1 online, u2 offline again), page 3 is not (u9 stays unknown).
    expect(await serveList(next, pagesOf(entries))).toBe(1);
    expect(client.presenceOf('u1')).toEqual({ status: 'online' });
    expect(client.presenceOf('u2')).toEqual({ status: 'offline', lastSeen: minutesAgo(2) });
    expect(client.presenceOf('u9')).toBeUndefined();
    next.receive({ type: 'presence', userId: 'u9', status: 'online' });
    expect(client.presenceOf('u9')).toEqual({ status: 'online' });
  });
});

describe('ConversationList', () => {
  const at = (summary: ConversationSummary, createdAt: string | null): ConversationSummary => ({
    ...summary,
    lastMessage: createdAt === null ? null : { ...message(summary.conversationId, 3, 'alice'), createdAt },
  });

  it('orders by the last message; one without stays after the entry before it in server order', () => {
    const list = new ConversationList();
    list.replace([
      at(entry(1), null),
      at(entry(2), minutesAgo(20)),
      at(entry(3), null),
      at(entry(4), minutesAgo(10)),
      at(entry(5), minutesAgo(30)),
    ]);
    expect(list.summaries.map((summary) => summary.conversationId)).toEqual(['c1', 'c4', 'c2', 'c3', 'c5']);
    // Merged: read first in server order, then the rest as shown.
    list.merge([at(entry(5), minutesAgo(5)), at(entry(6), null)]);
    // c1 is not read, so it changed before c5 and c6: below them.
    expect(list.summaries.map((summary) => summary.conversationId)).toEqual([
      'c5',
      'c6',
      'c1',
      'c4',
      'c2',
      'c3',
    ]);
  });

  it('holds an entry unchanged whatever its key order and presence, but not with receipts reordered', () => {
    const list = new ConversationList();
    const held = entry(1, {
      kind: 'group',
      members: ['alice', 'u1', 'u2'],
      receipts: [
        { userId: 'u1', readSeq: 2, deliveredSeq: 3 },
        { userId: 'u2', readSeq: 1, deliveredSeq: 3 },
      ],
    });
    expect(list.unchanged(held)).toBe(false);
    list.replace([held]);
    const reversed = Object.fromEntries(Object.entries(held).reverse()) as unknown as ConversationSummary;
    expect(list.unchanged(reversed)).toBe(true);
    expect(list.unchanged({ ...held, presence: { status: 'online', lastSeen: null } })).toBe(true);
    const { presence: _, ...withoutPresence } = held;
    expect(list.unchanged(withoutPresence)).toBe(true);
    expect(list.unchanged({ ...held, receipts: [...(held.receipts ?? [])].reverse() })).toBe(false);
    expect(list.unchanged({ ...held, unread: 1 })).toBe(false);
    const { version: __, ...withoutVersion } = held;
    expect(list.unchanged(withoutVersion)).toBe(false);
  });

  it('compares with the entry as listed, not as frames changed it since', () => {
    const list = new ConversationList();
    const held = entry(1, { unread: 1, readSeq: 2 });
    list.replace([held]);
    list.onRead(
      { type: 'read', conversationId: 'c1', userId: 'alice', seq: 3, readAt: minutesAgo(0) },
      'alice',
    );
    expect(list.get('c1')).toMatchObject({ readSeq: 3, unread: 0 });
    expect(list.unchanged({ ...held, readSeq: 3, unread: 0 })).toBe(false);
    expect(list.unchanged(held)).toBe(true);
  });
});
