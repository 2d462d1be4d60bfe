/**
 * Per-user rate limits through the local stack with real WebSocket clients (the stack started with
 * `SEND_RATE_PER_SECOND=5`, `SEND_BURST=5`, so that however slow the machine, 40 sends at once are
 * more than it lets through): the excess gets `rate_limited` with `retryAfterMs`, nothing of it is
 * stored, and each refused send retried with the same clientMessageId after the wait commits once.
 * A typing flood is refused to the typer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;
type Frame = Record<string, unknown>;

const join = async (userId: string): Promise<Client> =>
  connect(`${stack.url}/?token=${await localToken(userId)}`);

beforeAll(async () => {
  stack = await startLocalStackProcess({ SEND_RATE_PER_SECOND: '5', SEND_BURST: '5', TYPING_BURST: '3' });
});

afterAll(async () => {
  await stack?.stop();
});

/** Waits until `client` has an answer (ack or error) for every id in `ids`; returns them by id. */
async function answersFor(client: Client, ids: readonly string[]): Promise<Map<string, Frame>> {
  const answers = new Map<string, Frame>();
  const wanted = new Set(ids);
  await client.until((frame) => {
    const id = frame.clientMessageId;
    if ((frame.type === 'ack' || frame.type === 'error') && typeof id === 'string' && wanted.has(id)) {
      answers.set(id, frame);
    }
    return answers.size === wanted.size;
  });
  return answers;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('rate limits', () => {
  it('refuses the excess of 40 sends at once, and commits each retried after retryAfterMs exactly once', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    const ids = Array.from({ length: 40 }, (_, i) => `flood-${i}`);
    const frameFor = (id: string) => ({
      action: 'sendMessage',
      to: 'bob',
      clientMessageId: id,
      content: `message ${id}`,
    });

    for (const id of ids) alice.send(frameFor(id));
    let answers = await answersFor(alice, ids);

    const refused = [...answers.values()].filter((frame) => frame.type === 'error');
    expect(refused.length).toBeGreaterThan(0);
    for (const frame of refused) {
      expect(frame).toMatchObject({
        code: 'rate_limited',
        action: 'sendMessage',
        retryAfterMs: expect.any(Number),
      });
      expect(Number(frame.retryAfterMs)).toBeGreaterThan(0);
    }

    // A protocol client waits retryAfterMs and sends the same frame again, until it is acknowledged.
    const acks = new Map([...answers].filter(([, frame]) => frame.type === 'ack'));
    let pending = ids.filter((id) => !acks.has(id));
    while (pending.length > 0) {
      const wait = Math.max(...pending.map((id) => Number(answers.get(id)?.retryAfterMs ?? 0)));
      await sleep(wait);
      for (const id of pending) alice.send(frameFor(id));
      answers = await answersFor(alice, pending);
      for (const [id, frame] of answers) {
        if (frame.type === 'ack') acks.set(id, frame);
        else expect(frame).toMatchObject({ code: 'rate_limited' });
      }
      pending = pending.filter((id) => !acks.has(id));
    }

    // Every send committed once: a refused frame had stored nothing, so its retry is not a duplicate.
    expect([...acks.values()].filter((ack) => ack.duplicate !== false)).toEqual([]);
    expect(new Set([...acks.values()].map((ack) => ack.seq)).size).toBe(40);
    const conversationId = acks.get(ids[0] ?? '')?.conversationId;
    bob.send({ action: 'sync', conversationId, limit: 100 });
    const page = await bob.until((frame) => frame.type === 'messages');
    const stored = (page.messages as { clientMessageId: string; seq: number }[]).map(
      (m) => m.clientMessageId,
    );
    expect(stored.sort()).toEqual([...ids].sort());

    for (const client of [alice, bob]) client.socket.close();
    await Promise.all([alice.closed, bob.closed]);
  });

  it('refuses a typing flood to the typer, and lets the indicator through', async () => {
    const cleo = await join('cleo');
    const dan = await join('dan');
    cleo.send({ action: 'sendMessage', to: 'dan', clientMessageId: 'typing-hello', content: 'hi' });
    const ack = await cleo.until((frame) => frame.type === 'ack');
    await dan.until((frame) => frame.type === 'message');
    // dan answers: typing passes once both have written (protocol.md 1.2, consent)
    dan.send({ action: 'sendMessage', to: 'cleo', clientMessageId: 'typing-answer', content: 'hi cleo' });
    await cleo.until((frame) => frame.type === 'message');

    for (let i = 0; i < 12; i++)
      cleo.send({ action: 'typing', conversationId: ack.conversationId, state: 'start' });

    // The typer hears of the flood (frames past the burst of 3 are refused, with how long to wait);
    // dan still gets the indicator from the frames that were let through. That refused frames post
    // nothing is the unit test's to show (test/unit/routes/typing.test.ts): here nothing marks the end.
    expect(await cleo.until((frame) => frame.type === 'error')).toMatchObject({
      code: 'rate_limited',
      action: 'typing',
      retryAfterMs: expect.any(Number),
    });
    expect(await dan.until((frame) => frame.type === 'typing')).toMatchObject({
      userId: 'cleo',
      state: 'start',
    });

    for (const client of [cleo, dan]) client.socket.close();
    await Promise.all([cleo.closed, dan.closed]);
  });
});
