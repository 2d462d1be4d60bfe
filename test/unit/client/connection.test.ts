/**
 * The SDK's connection on a fake socket and fake timers: states as events, a fresh token per attempt,
 * one refresh after a 401 and final refusals, back-off with jitter, keep-alive and dead-socket
 * detection, and the planned replacement before API Gateway's 2-hour limit.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ParleyClient, type StateChange } from '../../../client/src/index.ts';
import { FakeWebSocket, fakeToken } from '../../support/fake-websocket.ts';

const flush = () => vi.advanceTimersByTimeAsync(0);

interface Setup {
  client: ParleyClient;
  states: StateChange[];
  tokenCalls: string[];
}

function setup(options: Partial<ConstructorParameters<typeof ParleyClient>[0]> = {}): Setup {
  const states: StateChange[] = [];
  const tokenCalls: string[] = [];
  const client = new ParleyClient({
    url: 'wss://example.test/prod',
    token: (why) => {
      tokenCalls.push(why);
      return fakeToken('alice', tokenCalls.length);
    },
    WebSocket: FakeWebSocket,
    random: () => 0.999,
    ...options,
  });
  client.on('state', (change) => states.push(change));
  return { client, states, tokenCalls };
}

/** Opens the socket and answers the conversation list the client asks for on every open. */
async function openWithEmptyList(socket = FakeWebSocket.last): Promise<void> {
  socket.open();
  await flush();
  socket.receive({ type: 'conversations', conversations: [], nextCursor: null });
  await flush();
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('connecting', () => {
  it('puts the token in the subprotocol by default, never in the URL', async () => {
    const { client } = setup({ deviceId: 'phone-1' });
    client.connect();
    await flush();
    const socket = FakeWebSocket.last;
    expect(socket.protocols).toEqual(['parley', fakeToken('alice', 1)]);
    expect(socket.url).toBe('wss://example.test/prod?deviceId=phone-1');
    expect(client.userId).toBe('alice');
  });

  it('can put the token in the query string instead', async () => {
    const { client } = setup({ tokenTransport: 'query' });
    client.connect();
    await flush();
    expect(new URL(FakeWebSocket.last.url).searchParams.get('token')).toBe(fakeToken('alice', 1));
    expect(FakeWebSocket.last.protocols).toBeUndefined();
  });

  it('reports connecting, open, reconnecting with the close code, open again', async () => {
    const { client, states } = setup();
    client.connect();
    await flush();
    await openWithEmptyList();
    FakeWebSocket.last.drop(1006);
    await vi.advanceTimersByTimeAsync(500);
    await openWithEmptyList();
    expect(states).toEqual([
      { state: 'connecting' },
      { state: 'open' },
      { state: 'reconnecting', reason: 'closed 1006' },
      { state: 'open' },
    ]);
  });

  it('fetches one fresh token after a 401 and gives up on a second', async () => {
    const { client, states, tokenCalls } = setup();
    client.connect();
    await flush();
    FakeWebSocket.last.refuse(401);
    await flush();
    expect(tokenCalls).toEqual(['connect', 'refresh']);
    expect(FakeWebSocket.instances).toHaveLength(2);
    FakeWebSocket.last.refuse(401);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(states.at(-1)).toEqual({ state: 'closed', reason: 'unauthorized' });
  });

  it('opens with the fresh token when only the old one had expired', async () => {
    const { client, states } = setup();
    client.connect();
    await flush();
    FakeWebSocket.last.refuse(401);
    await flush();
    await openWithEmptyList();
    expect(states.at(-1)).toEqual({ state: 'open' });
  });

  it('stops at once on 403 (deactivated)', async () => {
    const { client, states, tokenCalls } = setup();
    client.connect();
    await flush();
    FakeWebSocket.last.refuse(403);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(tokenCalls).toEqual(['connect']);
    expect(states.at(-1)).toEqual({ state: 'closed', reason: 'deactivated' });
  });

  it('treats a refusal without a status (browsers) as a network failure and refreshes the token', async () => {
    const { client, tokenCalls } = setup();
    client.connect();
    await flush();
    FakeWebSocket.last.fail();
    await vi.advanceTimersByTimeAsync(500);
    expect(tokenCalls).toEqual(['connect', 'refresh']);
  });

  it('retries a token provider that fails, with back-off', async () => {
    let calls = 0;
    const { client } = setup({
      token: () => {
        calls += 1;
        if (calls === 1) throw new Error('offline');
        return fakeToken('alice');
      },
    });
    client.connect();
    await flush();
    expect(FakeWebSocket.instances).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });
});

describe('reconnecting', () => {
  it('waits a jittered delay under a doubling ceiling, reset after a stable connection', async () => {
    const { client } = setup({ backoff: { initialMs: 1000, maxMs: 8000, stableAfterMs: 30_000 } });
    client.connect();
    await flush();
    // random() = 0.999: each delay is just under its ceiling, 1 s, 2 s, 4 s, 8 s, 8 s.
    for (const ceiling of [1000, 2000, 4000, 8000, 8000]) {
      const before = FakeWebSocket.instances.length;
      FakeWebSocket.last.fail();
      await vi.advanceTimersByTimeAsync(Math.floor(0.999 * ceiling) - 1);
      expect(FakeWebSocket.instances).toHaveLength(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(FakeWebSocket.instances).toHaveLength(before + 1);
    }
    await openWithEmptyList();
    await vi.advanceTimersByTimeAsync(30_000);
    const before = FakeWebSocket.instances.length;
    FakeWebSocket.last.drop();
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeWebSocket.instances).toHaveLength(before + 1);
  });

  it('skips the wait when the app says the network is back', async () => {
    const { client } = setup({ backoff: { initialMs: 30_000, maxMs: 30_000 } });
    client.connect();
    await flush();
    FakeWebSocket.last.fail();
    await flush();
    expect(FakeWebSocket.instances).toHaveLength(1);
    client.networkOnline();
    await flush();
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it('stays closed after close(), whatever the socket does next', async () => {
    const { client, states } = setup();
    client.connect();
    await flush();
    await openWithEmptyList();
    const socket = FakeWebSocket.last;
    client.close();
    socket.drop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(socket.closedByClient?.code).toBe(1000);
    expect(states.at(-1)).toEqual({ state: 'closed', reason: 'closed_by_app' });
  });
});

describe('keep-alive', () => {
  it('pings a quiet connection well inside the 10-minute idle limit', async () => {
    const { client } = setup();
    client.connect();
    await flush();
    await openWithEmptyList();
    const socket = FakeWebSocket.last;
    await vi.advanceTimersByTimeAsync(239_000);
    expect(socket.sentOf('ping')).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(socket.sentOf('ping')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(240_000);
    expect(socket.sentOf('ping')).toHaveLength(2);
    expect(socket.closedByClient).toBeUndefined();
  });

  it('does not ping while the app keeps sending', async () => {
    const { client } = setup();
    client.connect();
    await flush();
    await openWithEmptyList();
    const socket = FakeWebSocket.last;
    for (let i = 0; i < 5; i += 1) {
      await vi.advanceTimersByTimeAsync(200_000);
      client.typing({ conversationId: 'c1' });
    }
    expect(socket.sentOf('ping')).toHaveLength(0);
  });

  it('takes a socket that answers nothing to a ping for dead, and reconnects', async () => {
    const { client, states } = setup();
    client.connect();
    await flush();
    await openWithEmptyList();
    const socket = FakeWebSocket.last;
    socket.autoPong = false;
    await vi.advanceTimersByTimeAsync(240_000 + 10_000);
    expect(socket.closedByClient?.code).toBe(4000);
    expect(states.at(-1)).toEqual({ state: 'reconnecting', reason: 'closed 1006' });
    await vi.advanceTimersByTimeAsync(500);
    expect(FakeWebSocket.instances).toHaveLength(2);
  });
});

describe('planned reconnect before the 2-hour limit', () => {
  it('opens the new socket before closing the old one, and catches up on the new one', async () => {
    const { client, states } = setup();
    client.connect();
    await flush();
    await openWithEmptyList();
    const old = FakeWebSocket.last;
    await vi.advanceTimersByTimeAsync(110 * 60_000);
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(old.closedByClient).toBeUndefined();
    const replacement = FakeWebSocket.last;
    replacement.open();
    await flush();
    expect(old.closedByClient).toEqual({ code: 1000, reason: 'replaced' });
    expect(replacement.sentOf('sync')).toEqual([{ action: 'sync' }]);
    expect(states.filter((s) => s.state !== 'open')).toEqual([{ state: 'connecting' }]);
  });

  it('keeps the old socket when the replacement cannot open, and tries again later', async () => {
    const { client } = setup();
    client.connect();
    await flush();
    await openWithEmptyList();
    const old = FakeWebSocket.last;
    await vi.advanceTimersByTimeAsync(110 * 60_000);
    FakeWebSocket.last.fail();
    await flush();
    expect(old.closedByClient).toBeUndefined();
    expect(client.state).toBe('open');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeWebSocket.instances).toHaveLength(3);
  });
});
