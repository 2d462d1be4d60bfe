/**
 * Edits, deletions, reactions and leaving, on a fake socket: each method's frame, its promise settled
 * by the matching `ack` or `error` (one request per action at a time, first in first out), a
 * `messageUpdated` applied to the SDK's copy of the message (the same state `sync` would give), and a
 * conversation dropped once left.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message, MessageUpdatedFrame } from '../../../client/src/index.ts';
import { ParleyError } from '../../../client/src/index.ts';
import { Timeline } from '../../../client/src/timeline.ts';
import { answerSync, connected, flush, message, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

function updated(of: Message, change: Partial<MessageUpdatedFrame> = {}): MessageUpdatedFrame {
  return {
    type: 'messageUpdated',
    conversationId: of.conversationId,
    messageId: of.messageId,
    seq: of.seq,
    content: of.content,
    editedAt: null,
    deleted: false,
    reactions: {},
    ...change,
  };
}

const summary = (conversationId: string, kind: 'direct' | 'group', members: string[]) => ({
  conversationId,
  kind,
  members,
  title: kind === 'group' ? 'Team' : null,
  lastSeq: 0,
  readSeq: 0,
  unread: 0,
  lastMessage: null,
});

/** An open client holding c1's messages 1..n (alice's own at seq 1). */
async function withMessages(n = 2) {
  const client = newClient();
  const socket = await connected(client, {
    type: 'conversations',
    conversations: [summary('c1', 'direct', ['alice', 'bob'])],
    nextCursor: null,
  });
  for (let seq = 1; seq <= n; seq += 1) {
    socket.receive({ type: 'message', ...message('c1', seq, seq === 1 ? 'alice' : 'bob') });
  }
  await flush();
  return { client, socket };
}

describe('editMessage, deleteMessage, react', () => {
  it('send their frames and resolve on the matching ack', async () => {
    const { client, socket } = await withMessages();
    const edit = client.editMessage('c1', 1, '  fixed  ');
    expect(socket.sentOf('editMessage')).toEqual([
      { action: 'editMessage', conversationId: 'c1', seq: 1, content: 'fixed' },
    ]);
    socket.receive({ type: 'ack', action: 'editMessage', seq: 1 });
    await expect(edit).resolves.toBeUndefined();

    const removal = client.deleteMessage('c1', 1);
    expect(socket.sentOf('deleteMessage')).toEqual([
      { action: 'deleteMessage', conversationId: 'c1', seq: 1 },
    ]);
    socket.receive({ type: 'ack', action: 'deleteMessage', seq: 1 });
    await expect(removal).resolves.toBeUndefined();

    const added = client.react('c1', 2, '👍');
    const removed = client.react('c1', 2, '👍', false);
    // One reaction in flight at a time: the removal waits, so it cannot overtake the addition.
    expect(socket.sentOf('react')).toEqual([
      { action: 'react', conversationId: 'c1', seq: 2, emoji: '👍', on: true },
    ]);
    socket.receive({ type: 'ack', action: 'react' });
    await expect(added).resolves.toBeUndefined();
    expect(socket.sentOf('react').at(-1)).toEqual({
      action: 'react',
      conversationId: 'c1',
      seq: 2,
      emoji: '👍',
      on: false,
    });
    socket.receive({ type: 'ack', action: 'react' });
    await expect(removed).resolves.toBeUndefined();
  });

  it('reject with a ParleyError on an error naming the action, and leave other actions waiting', async () => {
    const { client, socket } = await withMessages();
    const edit = client.editMessage('c1', 2, 'not mine');
    const reaction = client.react('c1', 2, '🎉');
    socket.receive({
      type: 'error',
      code: 'forbidden',
      message: 'only its sender can change a message',
      action: 'editMessage',
    });
    const error = await edit.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toMatchObject({ code: 'forbidden', action: 'editMessage' });
    let settled = false;
    void reaction.finally(() => {
      settled = true;
    });
    await flush();
    expect(settled).toBe(false);
    socket.receive({ type: 'error', code: 'not_found', message: 'no message', action: 'deleteMessage' });
    await flush();
    expect(settled).toBe(false);
    socket.receive({ type: 'ack', action: 'react' });
    await expect(reaction).resolves.toBeUndefined();
  });

  it('answers queued requests of one action in the order they were made', async () => {
    const { client, socket } = await withMessages(3);
    const first = client.deleteMessage('c1', 2);
    const second = client.deleteMessage('c1', 3);
    expect(socket.sentOf('deleteMessage').map((frame) => frame.seq)).toEqual([2]);
    // An ack of another seq is not the head's: it does not settle it.
    socket.receive({ type: 'ack', action: 'deleteMessage', seq: 3 });
    await flush();
    expect(socket.sentOf('deleteMessage').map((frame) => frame.seq)).toEqual([2]);
    socket.receive({ type: 'error', code: 'forbidden', message: 'not yours', action: 'deleteMessage' });
    await expect(first).rejects.toMatchObject({ code: 'forbidden' });
    expect(socket.sentOf('deleteMessage').map((frame) => frame.seq)).toEqual([2, 3]);
    socket.receive({ type: 'ack', action: 'deleteMessage', seq: 3 });
    await expect(second).resolves.toBeUndefined();
  });

  it('sends again after a reconnect, and after an internal error', async () => {
    const { client, socket } = await withMessages();
    const edit = client.editMessage('c1', 1, 'again');
    socket.drop();
    await vi.advanceTimersByTimeAsync(60_000);
    const next = FakeWebSocket.last;
    next.open();
    await flush();
    expect(next.sentOf('editMessage')).toHaveLength(1);
    next.receive({ type: 'error', code: 'internal', message: 'failed', action: 'editMessage' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(next.sentOf('editMessage')).toHaveLength(2);
    next.receive({ type: 'ack', action: 'editMessage', seq: 1 });
    await expect(edit).resolves.toBeUndefined();
  });

  it('refuses empty or over-long content and a bad emoji without sending', async () => {
    const { client, socket } = await withMessages();
    await expect(client.editMessage('c1', 1, '  ')).rejects.toMatchObject({ code: 'bad_request' });
    await expect(client.editMessage('c1', 1, 'x'.repeat(4001))).rejects.toMatchObject({ code: 'too_large' });
    await expect(client.react('c1', 1, '')).rejects.toMatchObject({ code: 'bad_request' });
    await expect(client.react('c1', 1, '👍'.repeat(9))).rejects.toMatchObject({ code: 'bad_request' });
    expect([...socket.sentOf('editMessage'), ...socket.sentOf('react')]).toEqual([]);
  });
});

describe('messageUpdated', () => {
  it('is applied to the stored message and emitted, and the list preview follows', async () => {
    const { client, socket } = await withMessages();
    const seen: MessageUpdatedFrame[] = [];
    client.on('messageUpdated', (frame) => seen.push(frame));
    const second = message('c1', 2, 'bob');

    const edit = updated(second, { content: 'edited', editedAt: '2026-12-02T11:00:00.000Z' });
    socket.receive(edit);
    expect(seen).toEqual([edit]);
    expect(client.message('c1', 2)).toEqual({
      ...second,
      content: 'edited',
      editedAt: '2026-12-02T11:00:00.000Z',
    });
    expect(client.conversations[0]?.lastMessage).toMatchObject({ seq: 2, content: 'edited' });

    socket.receive(
      updated(second, {
        content: 'edited',
        editedAt: '2026-12-02T11:00:00.000Z',
        reactions: { '👍': ['alice', 'carol'] },
      }),
    );
    expect(client.message('c1', 2)?.reactions).toEqual({ '👍': ['alice', 'carol'] });

    socket.receive(updated(second, { content: '', editedAt: '2026-12-02T11:00:00.000Z', deleted: true }));
    const tombstone = client.message('c1', 2);
    expect(tombstone).toMatchObject({ seq: 2, content: '', deleted: true });
    expect(tombstone).not.toHaveProperty('reactions');
    expect(client.messages('c1').map((m) => m.seq)).toEqual([1, 2]);
  });

  it('gives the same state as the message synced after the change', () => {
    const original: Message = {
      ...message('c1', 1),
      attachments: [
        {
          attachmentId: 'a1',
          contentType: 'image/png',
          size: 3,
          url: 'http://s3/x',
          expiresAt: '2026-12-02T12:00:00.000Z',
        },
      ],
    };
    const live = new Timeline();
    live.accept(original);
    const reacted = live.update(updated(original, { reactions: { '❤️': ['bob'] } }));
    // What sync gives for the same stored message: reactions and attachments kept, no editedAt.
    expect(reacted).toEqual({ ...original, reactions: { '❤️': ['bob'] } });
    const unreacted = live.update(updated(original, { reactions: {} }));
    expect(unreacted).toEqual(original);
    const deleted = live.update(
      updated(original, { content: '', deleted: true, editedAt: '2026-12-02T11:00:00.000Z' }),
    );
    const { attachments: _, ...withoutAttachments } = original;
    expect(deleted).toEqual({
      ...withoutAttachments,
      content: '',
      editedAt: '2026-12-02T11:00:00.000Z',
      deleted: true,
    });
  });

  it('keeps the newer state when a retried delivery posts an older update after it', () => {
    // GIVEN a message reacted to (version 5) and the reaction taken back (version 6)
    const original: Message = { ...message('c1', 1), version: 1_000_000 };
    const live = new Timeline();
    live.accept(original);
    live.update(updated(original, { reactions: { '👍': ['bob'] }, version: 1_000_005 }));
    const takenBack = live.update(updated(original, { reactions: {}, version: 1_000_006 }));

    // WHEN the batch of version 5 is delivered again (at least once: a crash or timeout re-posts it)
    const replayed = live.update(updated(original, { reactions: { '👍': ['bob'] }, version: 1_000_005 }));

    // THEN the message stays as version 6 left it; an update for a message not held yet keeps the newest
    expect(replayed).toEqual(takenBack);
    expect(replayed?.reactions).toBeUndefined();
    const later: Message = { ...message('c1', 3), version: 3_000_000 };
    live.update(updated(later, { content: 'edited twice', version: 3_000_002 }));
    live.update(updated(later, { content: 'edited once', version: 3_000_001 }));
    live.accept(message('c1', 2));
    expect(live.accept(later).at(-1)?.content).toBe('edited twice');
  });

  it('waits for a message it overtook, then hands that message on in its new state', async () => {
    const client = newClient();
    const socket = await connected(client, {
      type: 'conversations',
      conversations: [summary('c1', 'direct', ['alice', 'bob'])],
      nextCursor: null,
    });
    const handed: Message[] = [];
    client.on('message', (m) => handed.push(m));
    const first = message('c1', 1);
    socket.receive(updated(first, { content: 'edited', editedAt: '2026-12-02T11:00:00.000Z' }));
    expect(client.message('c1', 1)).toBeUndefined();
    socket.receive({ type: 'message', ...first });
    await flush();
    expect(handed).toEqual([{ ...first, content: 'edited', editedAt: '2026-12-02T11:00:00.000Z' }]);
  });

  it('applies to messages that came by sync too', async () => {
    const client = newClient();
    const socket = await connected(client);
    socket.receive({ type: 'message', ...message('c1', 2) });
    await flush();
    socket.receive({
      type: 'conversations',
      conversations: [summary('c1', 'direct', ['alice', 'bob'])],
      nextCursor: null,
    });
    await flush();
    answerSync(socket, 'c1', [message('c1', 1), message('c1', 2)]);
    await flush();
    socket.receive(updated(message('c1', 1), { reactions: { '👍': ['bob'] } }));
    expect(client.message('c1', 1)?.reactions).toEqual({ '👍': ['bob'] });
  });
});

describe('leaveConversation and member changes', () => {
  async function inGroup() {
    const client = newClient();
    const socket = await connected(client, {
      type: 'conversations',
      conversations: [
        summary('g1', 'group', ['alice', 'bob', 'carol']),
        summary('c1', 'direct', ['alice', 'bob']),
      ],
      nextCursor: null,
    });
    socket.receive({ type: 'message', ...message('g1', 1) });
    await flush();
    return { client, socket };
  }

  it('sends the frame, resolves on the ack and drops the group with what it held', async () => {
    const { client, socket } = await inGroup();
    const left: string[] = [];
    client.on('left', (id) => left.push(id));
    const leaving = client.leaveConversation('g1');
    expect(socket.sentOf('leaveConversation')).toEqual([
      { action: 'leaveConversation', conversationId: 'g1' },
    ]);
    socket.receive({ type: 'ack', action: 'leaveConversation' });
    await expect(leaving).resolves.toBeUndefined();
    expect(left).toEqual(['g1']);
    expect(client.conversations.map((c) => c.conversationId)).toEqual(['c1']);
    expect(client.messages('g1')).toEqual([]);
    // A message still in flight to the group is not handed on.
    const handed: Message[] = [];
    client.on('message', (m) => handed.push(m));
    socket.receive({ type: 'message', ...message('g1', 2) });
    await flush();
    expect(handed).toEqual([]);
  });

  it('keeps a direct conversation left: its next message brings it back after the seq held', async () => {
    const { client, socket } = await inGroup();
    socket.receive({ type: 'message', ...message('c1', 1) });
    await flush();
    const leaving = client.leaveConversation('c1');
    socket.receive({ type: 'ack', action: 'leaveConversation' });
    await leaving;
    expect(client.conversations.map((c) => c.conversationId)).toEqual(['g1']);
    expect(client.heldSeq('c1')).toBe(1);
    const syncs = socket.sentOf('sync').length;
    socket.receive({ type: 'message', ...message('c1', 2) });
    await flush();
    // Not in the list: the list is fetched again (no sync of c1 from 0).
    expect(socket.sentOf('sync').slice(syncs)).toEqual([{ action: 'sync' }]);
    expect(client.heldSeq('c1')).toBe(2);
  });

  it('rejects on an error, and takes "forbidden" to a leave sent again as left', async () => {
    const { client, socket } = await inGroup();
    const refused = client.leaveConversation('nope');
    socket.receive({
      type: 'error',
      code: 'forbidden',
      message: 'not a member',
      action: 'leaveConversation',
    });
    await expect(refused).rejects.toMatchObject({ code: 'forbidden' });

    const leaving = client.leaveConversation('g1');
    socket.receive({ type: 'error', code: 'internal', message: 'failed', action: 'leaveConversation' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(socket.sentOf('leaveConversation')).toHaveLength(3);
    // The first attempt went through after all: the second is refused, the user is no member.
    socket.receive({
      type: 'error',
      code: 'forbidden',
      message: 'not a member',
      action: 'leaveConversation',
    });
    await expect(leaving).resolves.toBeUndefined();
    expect(client.conversations.map((c) => c.conversationId)).toEqual(['c1']);
  });

  it("updates a conversation's members from a conversation frame, and drops one that no longer lists us", async () => {
    const { client, socket } = await inGroup();
    socket.receive({
      type: 'conversation',
      conversationId: 'g1',
      kind: 'group',
      members: ['alice', 'bob'],
      title: 'Team',
      createdAt: '2026-12-01T10:00:00.000Z',
    });
    expect(client.conversations.find((c) => c.conversationId === 'g1')?.members).toEqual(['alice', 'bob']);
    socket.receive({
      type: 'conversation',
      conversationId: 'g1',
      kind: 'group',
      members: ['bob'],
      title: 'Team',
      createdAt: '2026-12-01T10:00:00.000Z',
    });
    expect(client.conversations.map((c) => c.conversationId)).toEqual(['c1']);
  });
});
