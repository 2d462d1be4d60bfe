/**
 * Message requests through the local stack started with `--contact-policy requests`, with real WebSocket
 * clients (protocol.md 1.2, "Who may talk to whom"): a first message is a request in its recipient's
 * list, the recipient's phone gets one push for it however many messages follow, nothing of the
 * recipient's presence reaches the sender until they accept, accepting introduces each to the other, and
 * groups are made of accepted contacts only. Declining is a leave or a block.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { pipelineIdle } from './support/pipeline-idle.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;
type Frame = Record<string, unknown>;

const join = async (userId: string, deviceId = `${userId}-phone`): Promise<Client> =>
  connect(`${stack.url}/?token=${await localToken(userId)}&deviceId=${deviceId}`);

beforeAll(async () => {
  stack = await startLocalStackProcess({}, ['--contact-policy', 'requests']);
});

afterAll(async () => {
  await stack?.stop();
});

const pushes = async (): Promise<Frame[]> =>
  (await (await fetch(`${stack.httpUrl}/_local/pushes`)).json()) as Frame[];

async function ask(client: Client, frame: Frame, answer: (frame: Frame) => boolean): Promise<Frame> {
  client.send(frame);
  return client.until((received) => answer(received) || received.type === 'error');
}

const acked = (action: string) => (frame: Frame) => frame.type === 'ack' && frame.action === action;

async function send(client: Client, to: string, clientMessageId: string, content: string): Promise<Frame> {
  return ask(client, { action: 'sendMessage', to, clientMessageId, content }, (frame) => {
    return frame.clientMessageId === clientMessageId;
  });
}

async function entryOf(client: Client, conversationId: unknown): Promise<Frame | undefined> {
  const list = await ask(client, { action: 'sync' }, (frame) => frame.type === 'conversations');
  return (list.conversations as Frame[]).find((entry) => entry.conversationId === conversationId);
}

describe('message requests', () => {
  it('lists a request apart, pushes it once, and introduces the two when it is accepted', async () => {
    // GIVEN rae's phone is registered and then offline
    const rae = await join('rae');
    expect(
      await ask(
        rae,
        { action: 'registerDevice', platform: 'fcm', token: 'fcm-rae' },
        acked('registerDevice'),
      ),
    ).toMatchObject({ type: 'ack' });
    rae.socket.close();
    await rae.closed;
    await pipelineIdle(stack.httpUrl);

    // WHEN sol, a stranger, writes to her three times
    const sol = await join('sol');
    const first = await send(sol, 'rae', 'sol-1', 'hi rae');
    expect(first).toMatchObject({ type: 'ack', seq: 1 });
    const direct = first.conversationId;
    expect(await send(sol, 'rae', 'sol-2', 'are you there?')).toMatchObject({ type: 'ack', seq: 2 });
    expect(await send(sol, 'rae', 'sol-3', 'hello??')).toMatchObject({ type: 'ack', seq: 3 });
    await pipelineIdle(stack.httpUrl);

    // THEN her phone got one push for the request
    const forRequest = (await pushes()).filter(
      (push) => push.userId === 'rae' && (push.data as Frame)?.conversationId === direct,
    );
    expect(forRequest).toHaveLength(1);
    // AND her list shows it as a request, sol's does not
    const back = await join('rae');
    expect(await entryOf(back, direct)).toMatchObject({ request: true, unread: 3 });
    expect(await entryOf(sol, direct)).not.toHaveProperty('request');
    // AND sol learns nothing of her: no presence in his list, and no presence frame came
    expect(await entryOf(sol, direct)).not.toHaveProperty('presence');

    // WHEN rae accepts
    expect(
      await ask(back, { action: 'acceptRequest', conversationId: direct }, acked('acceptRequest')),
    ).toEqual({ type: 'ack', action: 'acceptRequest' });

    // THEN each is told the other is online, and it is an ordinary conversation in her list
    expect(await sol.until((frame) => frame.type === 'presence')).toEqual({
      type: 'presence',
      userId: 'rae',
      status: 'online',
    });
    expect(await back.until((frame) => frame.type === 'presence')).toEqual({
      type: 'presence',
      userId: 'sol',
      status: 'online',
    });
    const accepted = await entryOf(back, direct);
    expect(accepted).not.toHaveProperty('request');
    expect(accepted).toMatchObject({ presence: { status: 'online', lastSeen: null } });
    // AND accepting again is the same ack
    expect(
      await ask(back, { action: 'acceptRequest', conversationId: direct }, acked('acceptRequest')),
    ).toEqual({ type: 'ack', action: 'acceptRequest' });
    for (const client of [back, sol]) client.socket.close();
  });

  it('makes groups of accepted contacts only', async () => {
    const [tia, uma, vin] = await Promise.all([join('tia'), join('uma'), join('vin')]);
    const first = await send(tia, 'uma', 'tia-1', 'hey uma');
    const direct = first.conversationId;
    await uma.until((frame) => frame.type === 'message' && frame.conversationId === direct);
    const group = (client: Client, id: string, members: string[]) =>
      ask(
        client,
        { action: 'createConversation', clientRequestId: id, members, title: id },
        (frame) => frame.clientRequestId === id || frame.title === id,
      );
    const refused = { type: 'error', code: 'forbidden', message: 'members: some members cannot be added' };

    // a pending request is no contact, for either of them; nor is a stranger
    expect(await group(tia, 'g-1', ['uma'])).toMatchObject(refused);
    expect(await group(uma, 'g-2', ['tia'])).toMatchObject(refused);
    expect(await group(tia, 'g-3', ['vin'])).toMatchObject(refused);

    // an answer accepts it as well as acceptRequest does
    expect(await send(uma, 'tia', 'uma-1', 'hi tia')).toMatchObject({ type: 'ack', seq: 2 });
    await pipelineIdle(stack.httpUrl);
    expect(await group(tia, 'g-4', ['uma'])).toMatchObject({ type: 'conversation', kind: 'group' });
    expect(await group(tia, 'g-5', ['uma', 'vin'])).toMatchObject(refused);
    for (const client of [tia, uma, vin]) client.socket.close();
  });

  it('lets the recipient decline by leaving: the request is hidden until a new message, still a request', async () => {
    const [wes, xav] = await Promise.all([join('wes'), join('xav')]);
    const first = await send(wes, 'xav', 'wes-1', 'buy my course');
    const direct = first.conversationId;
    await xav.until((frame) => frame.type === 'message' && frame.conversationId === direct);

    expect(
      await ask(xav, { action: 'leaveConversation', conversationId: direct }, acked('leaveConversation')),
    ).toMatchObject({ type: 'ack' });
    expect(await entryOf(xav, direct)).toBeUndefined();

    expect(await send(wes, 'xav', 'wes-2', 'last chance')).toMatchObject({ type: 'ack', seq: 2 });
    await xav.until((frame) => frame.type === 'message' && frame.conversationId === direct);
    await pipelineIdle(stack.httpUrl);
    expect(await entryOf(xav, direct)).toMatchObject({ request: true });
    for (const client of [wes, xav]) client.socket.close();
  });
});
