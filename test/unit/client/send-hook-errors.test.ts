/**
 * (1.2) Refusals of the app's send hook, as the SDK surfaces them: `payment_required` and
 * `blocked_content` reject `send()` and `editMessage()` with PaymentRequiredError / BlockedContentError
 * (ParleyErrors carrying the server's message), are never sent again (not after a wait, not after a
 * reconnect), and leave the outbox, unlike `internal` and `rate_limited`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BlockedContentError,
  type ErrorCode,
  ParleyError,
  PaymentRequiredError,
} from '../../../client/src/index.ts';
import { connected, flush, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

const REFUSALS = [
  ['payment_required', PaymentRequiredError, 'You have used all your message credits.'],
  ['blocked_content', BlockedContentError, 'Links are not allowed in messages.'],
] as const;

describe.each(REFUSALS)('%s', (code, type, message) => {
  it('rejects send() with its typed error and the server’s message, and says so with sendFailed', async () => {
    const client = newClient();
    const socket = await connected(client);
    const failed: ParleyError[] = [];
    client.on('sendFailed', ({ error }) => failed.push(error));

    const committed = client.send({ to: 'bob' }, 'hello');
    const [frame] = socket.sentOf('sendMessage');
    socket.receive({
      type: 'error',
      code,
      message,
      action: 'sendMessage',
      clientMessageId: frame?.clientMessageId,
    });

    const error = await committed.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toMatchObject({ name: type.name, code, message, action: 'sendMessage', retryable: false });
    expect(failed).toEqual([error]);
    expect(client.pending).toEqual([]);
  });

  it('never sends the refused message again: not after a wait, not after a reconnect', async () => {
    const client = newClient();
    const first = await connected(client);
    void client.send({ conversationId: 'c1' }, 'hello').catch(() => {});
    const [frame] = first.sentOf('sendMessage');
    first.receive({
      type: 'error',
      code,
      message,
      action: 'sendMessage',
      clientMessageId: frame?.clientMessageId,
    });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(first.sentOf('sendMessage')).toHaveLength(1);

    first.drop();
    await vi.advanceTimersByTimeAsync(1_000);
    const second = FakeWebSocket.last;
    expect(second).not.toBe(first);
    second.open();
    await flush();
    expect(second.sentOf('sendMessage')).toEqual([]);
  });

  it('rejects editMessage() with its typed error, without sending it again', async () => {
    const client = newClient();
    const socket = await connected(client);

    const edit = client.editMessage('c1', 3, 'see www.example.com');
    socket.receive({ type: 'error', code, message, action: 'editMessage' });

    const error = await edit.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, message, action: 'editMessage', retryable: false });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(socket.sentOf('editMessage')).toHaveLength(1);
  });
});

describe('ParleyError.from', () => {
  it.each<[ErrorCode, unknown]>([
    ['payment_required', PaymentRequiredError],
    ['blocked_content', BlockedContentError],
  ])('gives %s its own class', (code, type) => {
    expect(ParleyError.from({ type: 'error', code, message: 'no' })).toBeInstanceOf(type);
  });

  it('keeps every other code a plain ParleyError, retryable only for internal and rate_limited', () => {
    const error = (code: ErrorCode) => ParleyError.from({ type: 'error', code, message: 'x' });
    expect(error('forbidden').constructor).toBe(ParleyError);
    expect(error('internal').retryable).toBe(true);
    expect(error('rate_limited').retryable).toBe(true);
    expect(error('payment_required').retryable).toBe(false);
    expect(error('blocked_content').retryable).toBe(false);
  });
});
