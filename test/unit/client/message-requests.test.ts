/**
 * (1.2) Message requests on a fake socket: acceptRequest() settled by its bare `ack` (or an error naming
 * the action, with the usual retries), the list's `request` entries, and the flag cleared locally on an
 * accept, on the ack of the user's own message, and on their message from another device.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ConversationSummary, ParleyError } from '../../../client/src/index.ts';
import { connected, flush, listRequests, message, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

const direct = (conversationId: string, peer: string, request?: true): ConversationSummary => ({
  conversationId,
  kind: 'direct',
  members: ['alice', peer],
  title: null,
  lastSeq: 0,
  readSeq: 0,
  unread: 0,
  lastMessage: null,
  ...(request && { request }),
});

/**
 * A client whose list holds a request from bob (c1) and a plain conversation with cora (c2), both without
 * messages, so that no catch-up `sync` waits on the channel the list's fetches share.
 */
async function withRequest() {
  const client = newClient();
  const socket = await connected(client, {
    type: 'conversations',
    conversations: [direct('c1', 'bob', true), direct('c2', 'cora')],
    nextCursor: null,
  });
  const lists: (readonly ConversationSummary[])[] = [];
  client.on('conversations', (list) => lists.push(list));
  return { client, socket, lists };
}

const requestIds = (list: readonly ConversationSummary[]) =>
  list.filter((summary) => summary.request === true).map((summary) => summary.conversationId);

describe('message requests', () => {
  it('lists only entries with request: true as requests', async () => {
    const { client } = await withRequest();
    expect(requestIds(client.conversations)).toEqual(['c1']);
    expect(client.conversations.find((c) => c.conversationId === 'c2')).not.toHaveProperty('request');
  });

  it('accepts on the ack: the entry is no longer a request, and the list is emitted', async () => {
    const { client, socket, lists } = await withRequest();

    const accepting = client.acceptRequest('c1');
    expect(socket.sentOf('acceptRequest')).toEqual([{ action: 'acceptRequest', conversationId: 'c1' }]);
    expect(requestIds(client.conversations)).toEqual(['c1']);
    socket.receive({ type: 'ack', action: 'acceptRequest' });
    await expect(accepting).resolves.toBeUndefined();

    expect(requestIds(client.conversations)).toEqual([]);
    expect(client.conversations.find((c) => c.conversationId === 'c1')).not.toHaveProperty('request');
    expect(lists.map(requestIds)).toEqual([[]]);
  });

  it('resolves an accept of a conversation that is no request without emitting the list', async () => {
    const { client, socket, lists } = await withRequest();
    const accepting = client.acceptRequest('c2');
    socket.receive({ type: 'ack', action: 'acceptRequest' });
    await expect(accepting).resolves.toBeUndefined();
    expect(lists).toEqual([]);
  });

  it('rejects with the server’s error and leaves the request as it was', async () => {
    const { client, socket } = await withRequest();
    const accepting = client.acceptRequest('c1');
    socket.receive({ type: 'error', code: 'forbidden', message: 'not a member', action: 'acceptRequest' });
    await expect(accepting).rejects.toBeInstanceOf(ParleyError);
    await expect(accepting).rejects.toMatchObject({ code: 'forbidden' });
    expect(requestIds(client.conversations)).toEqual(['c1']);
  });

  it('sends again after rate_limited’s retryAfterMs, and resolves on the later ack', async () => {
    const { client, socket } = await withRequest();
    const accepting = client.acceptRequest('c1');
    socket.receive({
      type: 'error',
      code: 'rate_limited',
      message: 'slow down',
      action: 'acceptRequest',
      retryAfterMs: 2_000,
    });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(socket.sentOf('acceptRequest')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sentOf('acceptRequest')).toHaveLength(2);
    socket.receive({ type: 'ack', action: 'acceptRequest' });
    await expect(accepting).resolves.toBeUndefined();
    expect(requestIds(client.conversations)).toEqual([]);
  });

  it('is no longer a request once the user’s own message in it is acked', async () => {
    const { client, socket, lists } = await withRequest();
    const sending = client.send({ conversationId: 'c1' }, 'Hi Bob');
    const [frame] = socket.sentOf('sendMessage');
    expect(requestIds(client.conversations)).toEqual(['c1']);

    // Bob's message 1 has not arrived yet: the acked message 2 waits behind the gap, the request goes.
    socket.receive({
      type: 'ack',
      action: 'sendMessage',
      clientMessageId: frame?.clientMessageId ?? '',
      conversationId: 'c1',
      messageId: 'c1-m2',
      seq: 2,
      createdAt: '2026-12-02T10:00:02.000Z',
      duplicate: false,
    });
    await expect(sending).resolves.toMatchObject({ seq: 2 });

    expect(requestIds(client.conversations)).toEqual([]);
    expect(requestIds(lists.at(-1) ?? [])).toEqual([]);
  });

  it('is no longer a request once the user wrote in it from another device', async () => {
    const { client, socket } = await withRequest();
    socket.receive({ type: 'message', ...message('c1', 1, 'alice') });
    await flush();
    expect(requestIds(client.conversations)).toEqual([]);
  });

  it('stays a request while only the other user writes', async () => {
    const { client, socket } = await withRequest();
    socket.receive({ type: 'message', ...message('c1', 1, 'bob') });
    await flush();
    expect(requestIds(client.conversations)).toEqual(['c1']);
  });

  it('fetches the list for a new direct conversation, which says whether it is a request', async () => {
    const { client, socket } = await withRequest();
    const before = listRequests(socket).length;
    socket.receive({
      type: 'conversation',
      conversationId: 'c3',
      kind: 'direct',
      members: ['alice', 'dan'],
      title: null,
      createdAt: '2026-12-02T10:00:03.000Z',
    });
    await flush();
    expect(listRequests(socket)).toHaveLength(before + 1);

    socket.receive({
      type: 'conversations',
      conversations: [direct('c3', 'dan', true), direct('c1', 'bob', true), direct('c2', 'cora')],
      nextCursor: null,
    });
    await flush();
    expect(requestIds(client.conversations)).toEqual(['c3', 'c1']);
  });
});
