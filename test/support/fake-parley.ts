/**
 * A ParleyClient on a FakeWebSocket, opened, with the answers a server gives that the SDK's unit tests
 * do not care to script each time (the conversation list at open).
 */
import { vi } from 'vitest';
import {
  type ConversationSummary,
  type KeyValueStorage,
  type Message,
  ParleyClient,
  type ParleyClientOptions,
} from '../../client/src/index.ts';
import { FakeWebSocket, fakeToken } from './fake-websocket.ts';

export const flush = () => vi.advanceTimersByTimeAsync(0);

export function newClient(options: Partial<ParleyClientOptions> & { storage?: KeyValueStorage } = {}) {
  return new ParleyClient({
    url: 'wss://example.test/prod',
    token: () => fakeToken('alice'),
    WebSocket: FakeWebSocket,
    random: () => 0.5,
    ...options,
  });
}

/** Connects and opens; answers the list request with `conversations` (none by default). */
export async function connected(
  client: ParleyClient,
  conversations: Parameters<FakeWebSocket['receive']>[0] = {
    type: 'conversations',
    conversations: [],
    nextCursor: null,
  },
): Promise<FakeWebSocket> {
  client.connect();
  await flush();
  const socket = FakeWebSocket.last;
  socket.open();
  await flush();
  socket.receive(conversations);
  await flush();
  return socket;
}

export function message(conversationId: string, seq: number, senderId = 'bob'): Message {
  return {
    conversationId,
    messageId: `${conversationId}-m${seq}`,
    seq,
    senderId,
    content: `message ${seq}`,
    createdAt: new Date(Date.UTC(2026, 11, 2, 10, 0, seq)).toISOString(),
    clientMessageId: `${senderId}-${conversationId}-${seq}`,
  };
}

/** Answers the newest `sync` for a conversation with these messages. */
export function answerSync(
  socket: FakeWebSocket,
  conversationId: string,
  messages: Message[],
  hasMore = false,
) {
  socket.receive({ type: 'messages', conversationId, messages, hasMore });
}

/** Answers the newest conversation-list request with these conversations (one page). */
export function answerList(socket: FakeWebSocket, conversationIds: string[]) {
  socket.receive({
    type: 'conversations',
    conversations: conversationIds.map((conversationId) => ({
      conversationId,
      kind: 'direct',
      members: ['alice', 'bob'],
      title: null,
      lastSeq: 0,
      readSeq: 0,
      unread: 0,
      lastMessage: null,
    })),
    nextCursor: null,
  });
}

/** The conversation-list requests (`sync` without `conversationId`) the client sent on a socket. */
export function listRequests(socket: FakeWebSocket) {
  return socket.sentOf('sync').filter((frame) => frame.conversationId === undefined);
}

/**
 * Serves a list of several pages: answers the client's latest list request (not answered yet) by its
 * cursor (`page-N`), then each one it sends next, until it asks for no more. Returns how many it answered.
 */
export async function serveList(socket: FakeWebSocket, pages: readonly ConversationSummary[][]) {
  let answered = 0;
  for (
    let next = Math.max(0, listRequests(socket).length - 1);
    next < listRequests(socket).length;
    next += 1
  ) {
    const cursor = listRequests(socket)[next]?.cursor;
    const index = cursor === undefined ? 0 : Number(cursor.slice('page-'.length));
    socket.receive({
      type: 'conversations',
      conversations: pages[index] ?? [],
      nextCursor: index + 1 < pages.length ? `page-${index + 1}` : null,
    });
    answered += 1;
    await flush();
  }
  return answered;
}
