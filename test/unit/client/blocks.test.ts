/**
 * (1.2) block(), unblock(), blocks() and isBlocked() on a fake socket: the frames, the promises settled
 * by the `block` ack or the `blocks` answer (or an error naming the action), what the client then knows
 * (a blocked user's presence is forgotten), the list's `blocked` entries, and hidden messages handed on
 * as the server marks them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Message, ParleyError } from '../../../client/src/index.ts';
import { connected, flush, message, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

const direct = (conversationId: string, peer: string, blocked?: boolean) => ({
  conversationId,
  kind: 'direct' as const,
  members: ['alice', peer],
  title: null,
  lastSeq: 0,
  readSeq: 0,
  unread: 0,
  lastMessage: null,
  presence: { status: 'online' as const, lastSeen: null },
  ...(blocked !== undefined && { blocked }),
});

describe('blocks', () => {
  it('blocks on the ack, forgets the blocked user’s presence, and unblocks', async () => {
    const client = newClient();
    const socket = await connected(client, {
      type: 'conversations',
      conversations: [direct('c1', 'bob')],
      nextCursor: null,
    });
    expect(client.presenceOf('bob')).toEqual({ status: 'online' });

    const blocking = client.block('bob');
    expect(socket.sentOf('block')).toEqual([{ action: 'block', userId: 'bob', on: true }]);
    expect(client.isBlocked('bob')).toBe(false);
    socket.receive({ type: 'ack', action: 'block' });
    await expect(blocking).resolves.toBeUndefined();
    expect(client.isBlocked('bob')).toBe(true);
    expect(client.presenceOf('bob')).toBeUndefined();

    const unblocking = client.unblock('bob');
    expect(socket.sentOf('block').at(-1)).toEqual({ action: 'block', userId: 'bob', on: false });
    socket.receive({ type: 'ack', action: 'block' });
    await unblocking;
    expect(client.isBlocked('bob')).toBe(false);
  });

  it('rejects with the server’s error and changes nothing it knows', async () => {
    const client = newClient();
    const socket = await connected(client);
    const blocking = client.block('bob');
    socket.receive({
      type: 'error',
      code: 'too_large',
      message: 'you can block at most 1000 users',
      action: 'block',
    });
    await expect(blocking).rejects.toMatchObject({ code: 'too_large' });
    await expect(blocking).rejects.toBeInstanceOf(ParleyError);
    expect(client.isBlocked('bob')).toBe(false);
  });

  it('lists the blocked users from the server, and learns blocked direct conversations from the list', async () => {
    const client = newClient();
    const socket = await connected(client, {
      type: 'conversations',
      conversations: [direct('c1', 'bob', true), direct('c2', 'cora')],
      nextCursor: null,
    });
    expect(client.isBlocked('bob')).toBe(true);
    expect(client.isBlocked('cora')).toBe(false);

    const listing = client.blocks();
    expect(socket.sentOf('listBlocks')).toEqual([{ action: 'listBlocks' }]);
    socket.receive({ type: 'blocks', userIds: ['cora', 'dan'] });
    await expect(listing).resolves.toEqual(['cora', 'dan']);
    expect(client.isBlocked('bob')).toBe(false);
    expect(client.isBlocked('dan')).toBe(true);
  });

  it('hands on a hidden message as the server sent it', async () => {
    const client = newClient();
    const socket = await connected(client, {
      type: 'conversations',
      conversations: [direct('c1', 'bob')],
      nextCursor: null,
    });
    const handed: Message[] = [];
    client.on('message', (received) => handed.push(received));

    socket.receive({ type: 'message', ...message('c1', 1), content: '', hidden: true });
    await flush();

    expect(handed).toEqual([expect.objectContaining({ seq: 1, content: '', hidden: true })]);
  });
});
