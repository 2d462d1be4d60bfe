/**
 * Sends through the outbox on a fake socket: pending at once, one message per send whatever the network
 * does (the same clientMessageId after a timeout, an internal error, a reconnect, a rate limit), sends
 * into one conversation committed in the order written, and the outbox kept across app restarts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientFrame, PendingMessage } from '../../../client/src/index.ts';
import { memoryStorage, ParleyError } from '../../../client/src/index.ts';
import { connected, flush, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

type SendFrame = Extract<ClientFrame, { action: 'sendMessage' }>;

function ack(frame: SendFrame, seq: number, duplicate = false) {
  return {
    type: 'ack',
    action: 'sendMessage',
    clientMessageId: frame.clientMessageId,
    conversationId: frame.conversationId ?? `dm-${frame.to}`,
    messageId: `m-${seq}`,
    seq,
    createdAt: '2026-12-02T10:00:00.000Z',
    duplicate,
  } as const;
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('send', () => {
  it('shows the message as pending at once and resolves with the committed message', async () => {
    const client = newClient();
    const socket = await connected(client);
    const pending: PendingMessage[] = [];
    client.on('pending', (p) => pending.push(p));
    const committed = client.send({ conversationId: 'c1' }, '  hello  ');
    expect(pending).toMatchObject([{ conversationId: 'c1', content: 'hello' }]);
    const [frame] = socket.sentOf('sendMessage');
    expect(frame).toEqual({
      action: 'sendMessage',
      clientMessageId: pending[0]?.clientMessageId,
      content: 'hello',
      conversationId: 'c1',
    });
    socket.receive(ack(frame as SendFrame, 1));
    await expect(committed).resolves.toMatchObject({ seq: 1, senderId: 'alice', content: 'hello' });
    expect(client.pending).toEqual([]);
  });

  it('refuses empty and over-long content without sending', async () => {
    const client = newClient();
    const socket = await connected(client);
    await expect(client.send({ to: 'bob' }, '   ')).rejects.toMatchObject({ code: 'bad_request' });
    await expect(client.send({ to: 'bob' }, 'x'.repeat(4001))).rejects.toMatchObject({ code: 'too_large' });
    expect(socket.sentOf('sendMessage')).toEqual([]);
  });

  it('sends again with the same clientMessageId after an ack timeout, and keeps one message', async () => {
    const client = newClient({ ackTimeoutMs: 5_000 });
    const socket = await connected(client);
    const committed = client.send({ conversationId: 'c1' }, 'hi');
    await vi.advanceTimersByTimeAsync(5_000);
    await vi.advanceTimersByTimeAsync(5_000);
    const frames = socket.sentOf('sendMessage');
    expect(frames).toHaveLength(3);
    expect(new Set(frames.map((f) => f.clientMessageId)).size).toBe(1);
    // The first try did commit: every later ack says duplicate, with the first commit's fields.
    socket.receive(ack(frames[0] as SendFrame, 7));
    socket.receive(ack(frames[0] as SendFrame, 7, true));
    socket.receive(ack(frames[0] as SendFrame, 7, true));
    await expect(committed).resolves.toMatchObject({ seq: 7 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(socket.sentOf('sendMessage')).toHaveLength(3);
  });

  it('sends again after an internal error, with back-off', async () => {
    const client = newClient();
    const socket = await connected(client);
    const committed = client.send({ conversationId: 'c1' }, 'hi');
    const [first] = socket.sentOf('sendMessage');
    socket.receive({
      type: 'error',
      code: 'internal',
      message: 'the server failed',
      action: 'sendMessage',
      clientMessageId: first?.clientMessageId,
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(socket.sentOf('sendMessage')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const frames = socket.sentOf('sendMessage');
    expect(frames).toHaveLength(2);
    expect(frames[1]?.clientMessageId).toBe(first?.clientMessageId);
    socket.receive(ack(frames[1] as SendFrame, 1));
    await expect(committed).resolves.toMatchObject({ seq: 1 });
  });

  it("waits out rate_limited's retryAfterMs, not a moment less", async () => {
    const client = newClient();
    const socket = await connected(client);
    void client.send({ conversationId: 'c1' }, 'hi');
    const [first] = socket.sentOf('sendMessage');
    socket.receive({
      type: 'error',
      code: 'rate_limited',
      message: 'slow down',
      action: 'sendMessage',
      clientMessageId: first?.clientMessageId,
      retryAfterMs: 2_345,
    });
    await vi.advanceTimersByTimeAsync(2_344);
    expect(socket.sentOf('sendMessage')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(socket.sentOf('sendMessage')).toHaveLength(2);
  });

  it('gives up on a refused frame and says so', async () => {
    const client = newClient();
    const socket = await connected(client);
    const failed: string[] = [];
    client.on('sendFailed', ({ error }) => failed.push(error.code));
    const committed = client.send({ to: 'mallory' }, 'hi');
    const [first] = socket.sentOf('sendMessage');
    socket.receive({
      type: 'error',
      code: 'forbidden',
      message: 'no',
      action: 'sendMessage',
      clientMessageId: first?.clientMessageId,
    });
    await expect(committed).rejects.toBeInstanceOf(ParleyError);
    expect(failed).toEqual(['forbidden']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(socket.sentOf('sendMessage')).toHaveLength(1);
    expect(client.pending).toEqual([]);
  });

  it('sends what is unacknowledged again on the new socket after a reconnect', async () => {
    const client = newClient();
    const first = await connected(client);
    const committed = client.send({ conversationId: 'c1' }, 'typed in a tunnel');
    const [frame] = first.sentOf('sendMessage');
    first.drop();
    await vi.advanceTimersByTimeAsync(500);
    const second = FakeWebSocket.last;
    expect(second).not.toBe(first);
    second.open();
    await flush();
    const resent = second.sentOf('sendMessage');
    expect(resent).toEqual([frame]);
    second.receive(ack(resent[0] as SendFrame, 3, true));
    await expect(committed).resolves.toMatchObject({ seq: 3 });
  });

  it('keeps sends made while offline and sends them once connected', async () => {
    const client = newClient();
    const committed = client.send({ to: 'bob' }, 'written offline');
    expect(client.pending).toHaveLength(1);
    const socket = await connected(client);
    const [frame] = socket.sentOf('sendMessage');
    expect(frame).toMatchObject({ to: 'bob', content: 'written offline' });
    socket.receive(ack(frame as SendFrame, 1));
    await expect(committed).resolves.toMatchObject({ conversationId: 'dm-bob' });
  });
});

describe('order', () => {
  it('sends into one conversation one at a time, in the order written', async () => {
    const client = newClient();
    const socket = await connected(client);
    const sends = ['one', 'two', 'three'].map((text) => client.send({ conversationId: 'c1' }, text));
    expect(socket.sentOf('sendMessage').map((f) => f.content)).toEqual(['one']);
    socket.receive(ack(socket.sentOf('sendMessage')[0] as SendFrame, 1));
    await flush();
    expect(socket.sentOf('sendMessage').map((f) => f.content)).toEqual(['one', 'two']);
    socket.receive(ack(socket.sentOf('sendMessage')[1] as SendFrame, 2));
    await flush();
    socket.receive(ack(socket.sentOf('sendMessage')[2] as SendFrame, 3));
    expect((await Promise.all(sends)).map((m) => [m.content, m.seq])).toEqual([
      ['one', 1],
      ['two', 2],
      ['three', 3],
    ]);
  });

  it('sends into different conversations without waiting for each other', async () => {
    const client = newClient();
    const socket = await connected(client);
    void client.send({ conversationId: 'c1' }, 'to c1');
    void client.send({ conversationId: 'c2' }, 'to c2');
    void client.send({ to: 'carol' }, 'to carol');
    expect(socket.sentOf('sendMessage').map((f) => f.content)).toEqual(['to c1', 'to c2', 'to carol']);
  });

  it('keeps the order of a lane across a failure of its head', async () => {
    const client = newClient();
    const socket = await connected(client);
    void client.send({ conversationId: 'c1' }, 'one');
    void client.send({ conversationId: 'c1' }, 'two');
    socket.drop();
    await vi.advanceTimersByTimeAsync(500);
    const next = FakeWebSocket.last;
    next.open();
    await flush();
    expect(next.sentOf('sendMessage').map((f) => f.content)).toEqual(['one']);
  });
});

describe('across app restarts', () => {
  it('sends what a previous run left unacknowledged, with its clientMessageId', async () => {
    const storage = memoryStorage();
    const before = newClient({ storage });
    const socket = await connected(before);
    const lost = before.send({ conversationId: 'c1' }, 'sent just before the app was killed');
    lost.catch(() => undefined);
    const [frame] = socket.sentOf('sendMessage');
    before.close();
    await flush();

    FakeWebSocket.reset();
    const after = newClient({ storage });
    const restored: PendingMessage[] = [];
    const sent: string[] = [];
    after.on('pending', (p) => restored.push(p));
    after.on('sent', ({ message }) => sent.push(message.messageId));
    const next = await connected(after);
    expect(restored.map((p) => p.clientMessageId)).toEqual([frame?.clientMessageId]);
    const [resent] = next.sentOf('sendMessage');
    expect(resent).toEqual(frame);
    next.receive(ack(resent as SendFrame, 4, true));
    await flush();
    expect(sent).toEqual(['m-4']);
    expect(after.pending).toEqual([]);
  });

  it('works the same on a storage whose calls return promises (React Native AsyncStorage)', async () => {
    const values = new Map<string, string>();
    const asyncStorage = {
      getItem: async (key: string) => values.get(key) ?? null,
      setItem: async (key: string, value: string) => {
        values.set(key, value);
      },
      removeItem: async (key: string) => {
        values.delete(key);
      },
    };
    const before = newClient({ storage: asyncStorage });
    const socket = await connected(before);
    before.send({ conversationId: 'c1' }, 'one').catch(() => undefined);
    before.send({ conversationId: 'c1' }, 'two').catch(() => undefined);
    const [frame] = socket.sentOf('sendMessage');
    before.close();
    await flush();
    expect(JSON.parse(values.get('parley:alice:outbox') ?? '[]')).toHaveLength(2);

    FakeWebSocket.reset();
    const after = newClient({ storage: asyncStorage });
    const next = await connected(after);
    // The lane's order survives the restart: "one" first, "two" only after its ack.
    expect(next.sentOf('sendMessage')).toEqual([frame]);
    next.receive(ack(frame as SendFrame, 1));
    await flush();
    expect(next.sentOf('sendMessage').map((f) => f.content)).toEqual(['one', 'two']);
    await flush();
    expect(JSON.parse(values.get('parley:alice:outbox') ?? '[]')).toHaveLength(1);
  });
});
