/**
 * (1.2) report() on a fake socket: its frame (a message or the conversation, the note trimmed), the
 * promise settled by the ack naming its clientRequestId with the report's id, or by an error naming it;
 * sent again with the same clientRequestId after a dropped socket (so the server keeps one report); a
 * note over 1000 characters refused before anything is sent.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ParleyError } from '../../../client/src/index.ts';
import { connected, flush, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

const REPORT_ID = `rp_${'a'.repeat(32)}`;

describe('report', () => {
  it('reports a message, and resolves with the reportId of the ack naming its clientRequestId', async () => {
    const client = newClient();
    const socket = await connected(client);

    const filed = client.report({ conversationId: 'c1', seq: 3, reason: 'harassment', note: '  again  ' });
    const [frame] = socket.sentOf('report');
    expect(frame).toEqual({
      action: 'report',
      clientRequestId: expect.any(String),
      conversationId: 'c1',
      seq: 3,
      reason: 'harassment',
      note: 'again',
    });
    // Another report's ack is not this one's answer.
    socket.receive({ type: 'ack', action: 'report', clientRequestId: 'someone-else', reportId: 'rp_x' });
    await flush();
    let settled = false;
    void filed.finally(() => {
      settled = true;
    });
    await flush();
    expect(settled).toBe(false);

    socket.receive({
      type: 'ack',
      action: 'report',
      clientRequestId: frame?.clientRequestId ?? '',
      reportId: REPORT_ID,
    });
    await expect(filed).resolves.toBe(REPORT_ID);
  });

  it('reports a conversation without seq and without a blank note', async () => {
    const client = newClient();
    const socket = await connected(client);

    void client.report({ conversationId: 'c1', reason: 'spam', note: '   ' });

    expect(socket.sentOf('report')).toEqual([
      { action: 'report', clientRequestId: expect.any(String), conversationId: 'c1', reason: 'spam' },
    ]);
  });

  it('rejects with the error naming its clientRequestId', async () => {
    const client = newClient();
    const socket = await connected(client);
    const filed = client.report({ conversationId: 'c9', reason: 'scam' });
    const clientRequestId = socket.sentOf('report')[0]?.clientRequestId;

    socket.receive({
      type: 'error',
      code: 'forbidden',
      message: 'not a member of this conversation',
      action: 'report',
      ...(clientRequestId !== undefined && { clientRequestId }),
    });

    const error = await filed.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toMatchObject({ code: 'forbidden', action: 'report' });
  });

  it('sends the same frame again on the next socket when the first was lost before the ack', async () => {
    const client = newClient();
    const first = await connected(client);
    const filed = client.report({ conversationId: 'c1', seq: 2, reason: 'other' });
    const [sent] = first.sentOf('report');

    first.drop();
    await vi.advanceTimersByTimeAsync(30_000);
    const second = FakeWebSocket.last;
    expect(second).not.toBe(first);
    second.open();
    await flush();

    expect(second.sentOf('report')).toEqual([sent]);
    second.receive({
      type: 'ack',
      action: 'report',
      clientRequestId: sent?.clientRequestId ?? '',
      reportId: REPORT_ID,
    });
    await expect(filed).resolves.toBe(REPORT_ID);
  });

  it('refuses a note over 1000 characters (emoji count as one) before sending anything', async () => {
    const client = newClient();
    const socket = await connected(client);

    await expect(
      client.report({ conversationId: 'c1', reason: 'other', note: '😀'.repeat(1001) }),
    ).rejects.toMatchObject({ code: 'too_large', action: 'report' });
    void client.report({ conversationId: 'c1', reason: 'other', note: '😀'.repeat(1000) });

    expect(socket.sentOf('report')).toHaveLength(1);
  });
});
