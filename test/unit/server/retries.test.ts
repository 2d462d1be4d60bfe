/**
 * @parley/server's retries and errors, with a stubbed fetch and fake clocks: 429, 5xx and network
 * failures are sent again with the same Idempotency-Key and a fresh signature, after a jittered back-off
 * or the wait the server asked for; other 4xx fail at once; every failure is a ParleyServerError.
 */
import { afterEach, beforeEach, describe, expect, it, type Mock, vi } from 'vitest';
import { ParleyServer, ParleyServerError } from '../../../server/src/index.ts';
import { backoffDelay, retryAfterMs, retryPolicy } from '../../../server/src/retry.ts';
import { expectSignedBy, json, LOCAL_KEYS, sent } from './support.ts';

let fetchMock: Mock<typeof fetch>;

beforeEach(() => {
  fetchMock = vi.fn<typeof fetch>();
  vi.stubGlobal('fetch', fetchMock);
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const NOW = new Date('2026-11-23T10:30:00.000Z');
const sentMessage = {
  conversationId: 'g1',
  messageId: 'msg-1',
  seq: 7,
  version: 12,
  createdAt: '2026-11-23T10:30:00.000Z',
  duplicate: false,
};
const input = { clientMessageId: 'c1', content: 'hi', senderId: 'alice' };

/** Fake setTimeout and Date only: promises and setImmediate run as usual. */
function fakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: NOW });
}

/** Lets the client's promises run (signing, reading answers) until fetch has been called `n` times. */
async function calledTimes(n: number): Promise<void> {
  for (let i = 0; i < 200 && fetchMock.mock.calls.length < n; i += 1) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(fetchMock).toHaveBeenCalledTimes(n);
}

/** Settles the promise's state without awaiting it: 'pending' if it has not. */
async function state(promise: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let result: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  promise.then(
    () => {
      result = 'fulfilled';
    },
    () => {
      result = 'rejected';
    },
  );
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
  return result;
}

async function rejection(promise: Promise<unknown>): Promise<ParleyServerError> {
  const error = await promise.then(
    () => {
      throw new Error('resolved');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ParleyServerError);
  return error as ParleyServerError;
}

describe('retries of a write', () => {
  it('after a 500 and a 429: the same Idempotency-Key, a fresh X-Amz-Date and signature per attempt', async () => {
    fakeClock();
    vi.spyOn(Math, 'random').mockReturnValue(1);
    fetchMock
      .mockResolvedValueOnce(json(500, { code: 'internal', message: 'failed' }))
      .mockResolvedValueOnce(
        json(429, { code: 'rate_limited', message: 'slow down' }, { 'retry-after': '3' }),
      )
      .mockResolvedValueOnce(json(201, sentMessage));
    const server = ParleyServer.local({ retry: { baseDelayMs: 1000 } });
    const call = server.sendMessage('g1', input);

    await calledTimes(1);
    // The back-off after the first failure: up to baseDelayMs (Math.random is 1 here).
    await vi.advanceTimersByTimeAsync(999);
    await calledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await calledTimes(2);
    // The 429's Retry-After: 3 s.
    await vi.advanceTimersByTimeAsync(2999);
    await calledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    await calledTimes(3);
    await expect(call).resolves.toEqual(sentMessage);

    const attempts = [0, 1, 2].map((i) => sent(fetchMock, i));
    const keys = attempts.map((a) => a.headers['idempotency-key']);
    expect(keys[0]).toBeTruthy();
    expect(new Set(keys)).toEqual(new Set([keys[0]]));
    expect(attempts.map((a) => a.headers['x-amz-date'])).toEqual([
      '20261123T103000Z',
      '20261123T103001Z',
      '20261123T103004Z',
    ]);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    const signatures = new Set<string>();
    for (const attempt of attempts)
      signatures.add((await expectSignedBy(attempt, LOCAL_KEYS, 'local')).signature);
    expect(signatures.size).toBe(3);
  });

  it("waits the error body's retryAfterMs", async () => {
    fakeClock();
    fetchMock
      .mockResolvedValueOnce(json(429, { code: 'rate_limited', message: 'slow down', retryAfterMs: 1500 }))
      .mockResolvedValueOnce(json(200, {}));
    const call = ParleyServer.local().deactivate('alice', { idempotencyKey: 'k-1' });
    await calledTimes(1);
    await vi.advanceTimersByTimeAsync(1499);
    await calledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await calledTimes(2);
    await expect(call).resolves.toEqual({});
    expect(sent(fetchMock, 0).headers['idempotency-key']).toBe('k-1');
    expect(sent(fetchMock, 1).headers['idempotency-key']).toBe('k-1');
  });

  it('after network errors and timeouts, with the same key', async () => {
    fetchMock
      .mockRejectedValueOnce(new TypeError('fetch failed', { cause: new Error('ECONNRESET') }))
      .mockImplementationOnce(
        (_url, init) =>
          new Promise((_resolve, reject) => {
            init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
          }),
      )
      .mockResolvedValueOnce(json(201, sentMessage));
    const server = ParleyServer.local({ retry: { baseDelayMs: 1 }, timeoutMs: 50 });
    await expect(server.sendMessage('g1', input, { idempotencyKey: 'same' })).resolves.toEqual(sentMessage);
    expect(fetchMock).toHaveBeenCalledTimes(3);
    for (const i of [0, 1, 2]) expect(sent(fetchMock, i).headers['idempotency-key']).toBe('same');
  });

  it('gives up after the attempts configured, with the last error', async () => {
    fetchMock.mockImplementation(async () => json(503, { code: 'internal', message: 'unavailable' }));
    const error = await rejection(
      ParleyServer.local({ retry: { attempts: 3, baseDelayMs: 1 } }).revoke('alice'),
    );
    expect(fetchMock).toHaveBeenCalledTimes(3);
    expect(error).toMatchObject({ status: 503, code: 'internal', message: 'unavailable', retryable: true });
    expect(
      new Set(fetchMock.mock.calls.map((_, i) => sent(fetchMock, i).headers['idempotency-key'])).size,
    ).toBe(1);
  });

  it('tries 4 times by default', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    fetchMock.mockImplementation(async () => json(500, { code: 'internal', message: 'failed' }));
    await rejection(ParleyServer.local().revoke('alice'));
    expect(fetchMock).toHaveBeenCalledTimes(4);
  });

  it('does not wait a Retry-After beyond maxDelayMs: fails at once, saying how long', async () => {
    fetchMock.mockResolvedValue(
      json(429, { code: 'rate_limited', message: 'later' }, { 'retry-after': '60' }),
    );
    const error = await rejection(ParleyServer.local({ retry: { maxDelayMs: 5000 } }).revoke('alice'));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryable: true, retryAfterMs: 60_000 });
  });

  it('stops when the caller aborts, during the wait too', async () => {
    fakeClock();
    fetchMock.mockResolvedValue(json(500, { code: 'internal', message: 'failed' }));
    const controller = new AbortController();
    const call = ParleyServer.local({ retry: { baseDelayMs: 1000 } }).revoke('alice', {
      signal: controller.signal,
    });
    await calledTimes(1);
    controller.abort(new Error('shutting down'));
    await expect(call).rejects.toThrow('shutting down');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });
});

describe('no retry', () => {
  it.each([
    [400, 'bad_request', 'members must hold 2 to 100 user ids'],
    [400, 'too_large', 'content is over 4000 characters'],
    [403, 'forbidden', 'not a member'],
    [404, 'not_found', 'no such report'],
    [409, 'conflict', 'the key was used for another request'],
  ])('after %i %s: one attempt, the error at once', async (status, code, message) => {
    fetchMock.mockResolvedValue(json(status, { code, message }));
    const error = await rejection(
      ParleyServer.local()
        .sendMessage('g1', input, { idempotencyKey: 'k' })
        .then(() => undefined),
    );
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'ParleyServerError',
      status,
      code,
      message,
      retryable: false,
      operation: 'sendMessage',
    });
  });

  it("takes the code from the status when the body has none (API Gateway's own 403)", async () => {
    fetchMock.mockResolvedValue(json(403, { message: 'Forbidden' }));
    const error = await rejection(ParleyServer.local().listReports());
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(error).toMatchObject({ status: 403, code: 'forbidden', message: 'Forbidden', retryable: false });
  });

  it('a non-JSON error body still makes a ParleyServerError', async () => {
    fetchMock.mockResolvedValue(
      new Response('<html>Not Found</html>', { status: 404, statusText: 'Not Found' }),
    );
    const error = await rejection(ParleyServer.local().listMessages('g1'));
    expect(error).toMatchObject({ status: 404, code: 'not_found', retryable: false });
    expect(error.message).toContain('404');
  });

  it('a success whose body is not JSON is invalid_response, not retried', async () => {
    fetchMock.mockResolvedValue(new Response('<html>OK</html>', { status: 200 }));
    const error = await rejection(ParleyServer.local().listMessages('g1'));
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(error).toMatchObject({ status: 200, code: 'invalid_response', retryable: false });
  });
});

describe('reads', () => {
  it('are retried the same way, without an Idempotency-Key', async () => {
    const page = { messages: [], hasMore: false };
    fetchMock
      .mockResolvedValueOnce(json(502, { message: 'Internal Server Error' }))
      .mockResolvedValueOnce(json(429, { code: 'rate_limited', message: 'slow down' }))
      .mockResolvedValueOnce(json(200, page));
    await expect(
      ParleyServer.local({ retry: { baseDelayMs: 1 } }).listMessages('g1', { afterVersion: 3 }),
    ).resolves.toEqual(page);
    expect(fetchMock).toHaveBeenCalledTimes(3);
    for (const i of [0, 1, 2]) {
      const request = sent(fetchMock, i);
      expect(request.headers).not.toHaveProperty('idempotency-key');
      expect(request.url.search).toBe('?afterVersion=3');
    }
  });

  it('fail with network_error when no attempt got an answer', async () => {
    fetchMock.mockRejectedValue(new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }));
    const error = await rejection(
      ParleyServer.local({ retry: { attempts: 2, baseDelayMs: 1 } }).listReports(),
    );
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(error).toMatchObject({ status: 0, code: 'network_error', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.cause).toBeInstanceOf(TypeError);
  });
});

describe('back-off', () => {
  it('is full jitter under an exponential ceiling capped at maxDelayMs', () => {
    const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5, 60].map((attempt) => backoffDelay(policy, attempt, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(200);
    expect(() => retryPolicy({ attempts: 0 })).toThrow(TypeError);
    expect(() => retryPolicy({ baseDelayMs: -1 })).toThrow(TypeError);
  });

  it('reads Retry-After as seconds or an HTTP date, and prefers the body’s retryAfterMs', () => {
    const now = NOW.getTime();
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), undefined, now)).toBe(2000);
    expect(
      retryAfterMs(new Headers({ 'retry-after': new Date(now + 5000).toUTCString() }), undefined, now),
    ).toBe(5000);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), { retryAfterMs: 250 }, now)).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }), {}, now)).toBeUndefined();
    expect(retryAfterMs(new Headers(), { code: 'internal' }, now)).toBeUndefined();
  });

  it('waits before each retry', async () => {
    fakeClock();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    fetchMock.mockImplementation(async () => json(500, { code: 'internal', message: 'failed' }));
    const call = rejection(ParleyServer.local({ retry: { baseDelayMs: 400 } }).revoke('alice'));
    await calledTimes(1);
    await vi.advanceTimersByTimeAsync(199);
    await calledTimes(1);
    await vi.advanceTimersByTimeAsync(1); // 0.5 × 400
    await calledTimes(2);
    await vi.advanceTimersByTimeAsync(400); // 0.5 × 800
    await calledTimes(3);
    expect(await state(call)).toBe('pending');
    await vi.advanceTimersByTimeAsync(800); // 0.5 × 1600
    await calledTimes(4);
    expect((await call).status).toBe(500);
  });
});
