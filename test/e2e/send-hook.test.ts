/**
 * The example send hook through the local stack, as a developer runs it:
 * `npm start -- --send-hook examples/send-hook/hook.ts` with `EXAMPLE_HOOK_CREDITS=2`. Real WebSocket
 * clients see the credit flow of integration.md: two messages go through, a retry of a committed one is
 * its duplicate and costs nothing, the third is `payment_required` with the hook's message; blocked
 * content is `blocked_content`, and a refused first message leaves no conversation behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../../examples/send-hook/hook.ts';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;
type Frame = Record<string, unknown>;

const join = async (userId: string): Promise<Client> =>
  connect(`${stack.url}/?token=${await localToken(userId)}`);

beforeAll(async () => {
  stack = await startLocalStackProcess({ EXAMPLE_HOOK_CREDITS: '2' }, [
    '--send-hook',
    'examples/send-hook/hook.ts',
  ]);
});

afterAll(async () => {
  await stack?.stop();
});

/** Sends one frame and waits for its answer (the ack or error naming its clientMessageId). */
async function sendAndWait(client: Client, frame: Frame): Promise<Frame> {
  client.send({ action: 'sendMessage', ...frame });
  return client.until(
    (answer) =>
      (answer.type === 'ack' || answer.type === 'error') && answer.clientMessageId === frame.clientMessageId,
  );
}

async function conversationsOf(client: Client): Promise<Frame[]> {
  client.send({ action: 'sync' });
  const list = await client.until((frame) => frame.type === 'conversations');
  return list.conversations as Frame[];
}

describe('the example send hook in the local stack', () => {
  it('says so in the banner', () => {
    expect(stack.output()).toMatch(
      /Send hook {6}examples\/send-hook\/hook\.ts \(timeout 1000 ms, on failure refuse\)/,
    );
  });

  it('charges a credit per message, never for a retry, and refuses with payment_required once none is left', async () => {
    const alice = await join('alice');
    const bob = await join('bob');

    const first = await sendAndWait(alice, { to: 'bob', clientMessageId: 'credit-1', content: 'hi bob' });
    const second = await sendAndWait(alice, { to: 'bob', clientMessageId: 'credit-2', content: 'lunch?' });
    expect([first, second]).toMatchObject([
      { type: 'ack', seq: 1, duplicate: false },
      { type: 'ack', seq: 2, duplicate: false },
    ]);

    // Her balance is 0 now: had the retry reached the hook as a new charge, it would be refused.
    const retry = await sendAndWait(alice, { to: 'bob', clientMessageId: 'credit-1', content: 'hi bob' });
    expect(retry).toEqual({ ...first, duplicate: true });

    const third = await sendAndWait(alice, {
      to: 'bob',
      clientMessageId: 'credit-3',
      content: 'still there?',
    });
    expect(third).toEqual({
      type: 'error',
      code: 'payment_required',
      message: MESSAGES.noCredits,
      action: 'sendMessage',
      clientMessageId: 'credit-3',
    });

    // bob has the two paid messages, and nothing of the refused one.
    bob.send({ action: 'sync', conversationId: first.conversationId });
    const page = await bob.until((frame) => frame.type === 'messages');
    expect((page.messages as Frame[]).map((message) => message.content)).toEqual(['hi bob', 'lunch?']);

    // Edits cost nothing (the edited message paid), but the filter still applies to them.
    alice.send({ action: 'editMessage', conversationId: first.conversationId, seq: 1, content: 'hi Bob!' });
    expect(await alice.until((frame) => frame.action === 'editMessage')).toEqual({
      type: 'ack',
      action: 'editMessage',
      seq: 1,
    });
    alice.send({
      action: 'editMessage',
      conversationId: first.conversationId,
      seq: 1,
      content: 'see https://example.org',
    });
    expect(await alice.until((frame) => frame.action === 'editMessage')).toEqual({
      type: 'error',
      code: 'blocked_content',
      message: MESSAGES.link,
      action: 'editMessage',
    });

    for (const client of [alice, bob]) client.socket.close();
    await Promise.all([alice.closed, bob.closed]);
  });

  it('refuses blocked content before charging, and a refused first message creates no conversation', async () => {
    const carol = await join('carol');
    const dan = await join('dan');

    const refused = await sendAndWait(carol, {
      to: 'dan',
      clientMessageId: 'spam-1',
      content: 'Cheap SPAM here',
    });
    expect(refused).toEqual({
      type: 'error',
      code: 'blocked_content',
      message: MESSAGES.word,
      action: 'sendMessage',
      clientMessageId: 'spam-1',
    });
    expect(await conversationsOf(carol)).toEqual([]);
    expect(await conversationsOf(dan)).toEqual([]);

    // Nothing was charged: carol's two credits are still there.
    const ok = [
      await sendAndWait(carol, { to: 'dan', clientMessageId: 'ok-1', content: 'hello dan' }),
      await sendAndWait(carol, { to: 'dan', clientMessageId: 'ok-2', content: 'are you there?' }),
    ];
    expect(ok).toMatchObject([
      { type: 'ack', duplicate: false },
      { type: 'ack', duplicate: false },
    ]);

    for (const client of [carol, dan]) client.socket.close();
    await Promise.all([carol.closed, dan.closed]);
  });
});
