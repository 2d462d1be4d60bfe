/**
 * Protocol 1.2's catch-up through the local stack, with real WebSocket clients: a device that was
 * offline while every kind of change happened ends, after the list and `sync` by `afterVersion` of
 * what the list says is newer, equal to a fresh read of the server; and a leaver's every connection
 * gets `left`, then nothing more of the group.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;

const join = async (userId: string, deviceId = `${userId}-phone`): Promise<Client> =>
  connect(`${stack.url}/?token=${await localToken(userId)}&deviceId=${deviceId}`);

beforeAll(async () => {
  stack = await startLocalStackProcess();
});

afterAll(async () => {
  await stack?.stop();
});

type Frame = Record<string, unknown>;
type Message = { seq: number; version: number; attachments?: unknown } & Frame;

/** Sends a frame and waits for its answer (an ack of that action, or the frame `match` picks). */
async function ask(client: Client, frame: Frame, match?: (answer: Frame) => boolean): Promise<Frame> {
  client.send(frame);
  return client.until(
    match ??
      ((answer) => (answer.type === 'ack' || answer.type === 'error') && answer.action === frame.action),
  );
}

async function createGroup(creator: Client, members: string[], clientRequestId: string): Promise<string> {
  const created = await ask(
    creator,
    { action: 'createConversation', clientRequestId, members, title: clientRequestId },
    (frame) => frame.type === 'conversation' && frame.title === clientRequestId,
  );
  return String(created.conversationId);
}

/** Pages by afterVersion from `held` until there is no more; returns the version reached. */
async function catchUp(client: Client, conversationId: string, held: Map<number, Message>, from: number) {
  let version = from;
  for (;;) {
    const page = await ask(
      client,
      { action: 'sync', conversationId, afterVersion: version, limit: 2 },
      (frame) => frame.type === 'messages' && frame.conversationId === conversationId,
    );
    for (const message of page.messages as Message[]) held.set(message.seq, message);
    version = Number(page.version);
    if (page.hasMore !== true) return version;
  }
}

async function fullRead(client: Client, conversationId: string): Promise<Map<number, Message>> {
  const page = await ask(
    client,
    { action: 'sync', conversationId, afterSeq: 0, limit: 100 },
    (frame) => frame.type === 'messages' && frame.conversationId === conversationId,
  );
  return new Map((page.messages as Message[]).map((message) => [message.seq, message]));
}

async function listEntry(client: Client, conversationId: string): Promise<Frame | undefined> {
  const list = await ask(client, { action: 'sync' }, (frame) => frame.type === 'conversations');
  return (list.conversations as Frame[]).find((entry) => entry.conversationId === conversationId);
}

const comparable = (messages: Map<number, Message>) =>
  [...messages.values()].sort((a, b) => a.seq - b.seq).map(({ attachments: _links, ...rest }) => rest);

describe('catch-up after being offline (protocol 1.2)', () => {
  it('ends equal to the server after edits, a deletion, reactions added and taken back, a leave and new messages', async () => {
    const [ann, bob, cat, annTablet] = await Promise.all([
      join('cu-ann'),
      join('cu-bob'),
      join('cu-cat'),
      join('cu-ann'),
    ]);
    const conversationId = await createGroup(ann, ['cu-bob', 'cu-cat'], 'catch-up');
    await Promise.all([bob, cat].map((client) => client.until((f) => f.conversationId === conversationId)));
    for (const [index, content] of ['one', 'two', 'three'].entries()) {
      await ask(ann, { action: 'sendMessage', conversationId, clientMessageId: `cu-${index}`, content });
    }
    await ask(cat, { action: 'react', conversationId, seq: 2, emoji: '😂', on: true });
    // Bob holds everything so far, then loses his socket.
    const held = new Map<number, Message>();
    const heldVersion = await catchUp(bob, conversationId, held, 0);
    expect(held.size).toBe(3);
    bob.socket.close();
    await bob.closed;

    // While he is away: every kind of change.
    await ask(ann, { action: 'editMessage', conversationId, seq: 1, content: 'one, edited' });
    await ask(ann, { action: 'deleteMessage', conversationId, seq: 3 });
    await ask(cat, { action: 'react', conversationId, seq: 2, emoji: '👍', on: true });
    await ask(cat, { action: 'react', conversationId, seq: 2, emoji: '😂', on: false });
    await ask(ann, { action: 'sendMessage', conversationId, clientMessageId: 'cu-4', content: 'four' });
    await ask(cat, { action: 'leaveConversation', conversationId });
    // The list shows a change once its delivery ran (before its frames go out): ann's second device
    // hearing of the leave and of her last message means both are in bob's entry.
    await annTablet.until(
      (frame) => frame.type === 'conversation' && (frame.members as string[] | undefined)?.length === 2,
    );
    const five = await ask(ann, {
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'cu-5',
      content: 'five',
    });
    await annTablet.until((frame) => frame.type === 'message' && frame.messageId === five.messageId);

    // Back: the list says the conversation moved on, and who is in it now.
    const back = await join('cu-bob');
    const entry = await listEntry(back, conversationId);
    expect(entry).toMatchObject({ members: ['cu-ann', 'cu-bob'] });
    expect(Number(entry?.version)).toBeGreaterThan(heldVersion);
    const reached = await catchUp(back, conversationId, held, heldVersion);
    expect(reached).toBe(entry?.version);
    const server = await fullRead(back, conversationId);
    expect(comparable(held)).toEqual(comparable(server));
    expect(held.get(1)).toMatchObject({ content: 'one, edited' });
    expect(held.get(2)).toMatchObject({ reactions: { '👍': ['cu-cat'] } });
    expect(held.get(3)).toMatchObject({ deleted: true, content: '' });
    expect([...held.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    for (const client of [ann, cat, back, annTablet]) client.socket.close();
  });

  it('shows a fresh device the ticks and the presence of its contact from the list alone', async () => {
    const [gil, hal] = await Promise.all([join('cu-gil'), join('cu-hal')]);
    // hal wrote first, so once gil writes both have (protocol.md 1.2: receipts and presence need consent)
    const hello = await ask(hal, {
      action: 'sendMessage',
      to: 'cu-gil',
      clientMessageId: 'hello',
      content: 'hello',
    });
    await gil.until((frame) => frame.type === 'message' && frame.messageId === hello.messageId);
    const ack = await ask(gil, {
      action: 'sendMessage',
      to: 'cu-hal',
      clientMessageId: 'ticks',
      content: 'hi',
    });
    const conversationId = String(ack.conversationId);
    await hal.until((frame) => frame.type === 'message' && frame.messageId === ack.messageId);
    await ask(
      hal,
      { action: 'markRead', conversationId, seq: 2 },
      (frame) => frame.type === 'read' && frame.userId === 'cu-hal',
    );
    // Gil's new tablet has seen none of the live frames: the list has hal's read and delivered marks,
    // and that hal is online.
    const tablet = await join('cu-gil', 'cu-gil-tablet');
    expect(await listEntry(tablet, conversationId)).toMatchObject({
      receipts: [{ userId: 'cu-hal', readSeq: 2, deliveredSeq: 2 }],
      presence: { status: 'online', lastSeen: null },
      unread: 0,
    });
    hal.socket.close();
    await hal.closed;
    // Hal's offline now: once delivery has told gil, the list says so with when.
    await gil.until((frame) => frame.type === 'presence' && frame.status === 'offline');
    expect(await listEntry(tablet, conversationId)).toMatchObject({
      presence: { status: 'offline', lastSeen: expect.stringMatching(/Z$/) },
    });
    for (const client of [gil, tablet]) client.socket.close();
  });

  it('tells every connection of the leaver `left`, and nothing of the group reaches them after the ack', async () => {
    const [dee, fay, eve, eveTablet] = await Promise.all([
      join('cu-dee'),
      join('cu-fay'),
      join('cu-eve'),
      join('cu-eve', 'cu-eve-tablet'),
    ]);
    const conversationId = await createGroup(dee, ['cu-eve', 'cu-fay'], 'left-group');
    await Promise.all(
      [fay, eve, eveTablet].map((client) => client.until((f) => f.conversationId === conversationId)),
    );

    await ask(eve, { action: 'leaveConversation', conversationId });
    for (const client of [eve, eveTablet]) {
      expect(await client.until((frame) => frame.type === 'left')).toEqual({ type: 'left', conversationId });
    }
    const ack = await ask(dee, {
      action: 'sendMessage',
      conversationId,
      clientMessageId: 'after',
      content: 'x',
    });
    await fay.until((frame) => frame.type === 'message' && frame.messageId === ack.messageId);
    // Fay has it, so a post to eve would have been made by now: it would come before the pong. Neither
    // the message nor the `conversation` frame of her own leave reached either of her connections.
    for (const client of [eve, eveTablet]) {
      client.send({ action: 'ping' });
      expect(await client.until(() => true)).toEqual({ type: 'pong' });
    }
    for (const client of [dee, fay, eve, eveTablet]) client.socket.close();
  });
});
