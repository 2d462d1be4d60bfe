/**
 * Blocks through the local stack with real WebSocket clients (protocol.md 1.2, "Block"): the blocked
 * user is refused in words that name nobody, the blocker gets the blocked user's group messages hidden
 * (live and in `sync`) and no push for them, nothing of the blocked user's typing reaches the blocker,
 * the blocker's list marks the direct conversation, and unblocking undoes it all.
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
  stack = await startLocalStackProcess();
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

describe('blocking a user', () => {
  it('refuses the blocked user, hides their group messages from the blocker, and undoes it all on unblock', async () => {
    const [kim, lou, max] = await Promise.all([join('kim'), join('lou'), join('max')]);
    // kim and lou talk, and max has a group with both
    lou.send({ action: 'sendMessage', to: 'kim', clientMessageId: 'lou-1', content: 'hi kim' });
    const first = await lou.until((frame) => frame.type === 'ack' && frame.clientMessageId === 'lou-1');
    const direct = String(first.conversationId);
    await kim.until((frame) => frame.type === 'message' && frame.messageId === first.messageId);
    max.send({
      action: 'createConversation',
      clientRequestId: 'blocks-group',
      members: ['kim', 'lou'],
      title: 'Crag',
    });
    const created = await max.until((frame) => frame.type === 'conversation' && frame.title === 'Crag');
    const group = String(created.conversationId);
    await Promise.all([kim, lou].map((client) => client.until((frame) => frame.conversationId === group)));

    // WHEN kim blocks lou
    expect(await ask(kim, { action: 'block', userId: 'lou', on: true }, acked('block'))).toEqual({
      type: 'ack',
      action: 'block',
    });
    expect(await ask(kim, { action: 'listBlocks' }, (frame) => frame.type === 'blocks')).toEqual({
      type: 'blocks',
      userIds: ['lou'],
    });

    // THEN lou cannot write to kim nor put her in a group, told in words that name nobody
    const refused = await ask(
      lou,
      { action: 'sendMessage', conversationId: direct, clientMessageId: 'lou-2', content: 'why?' },
      (frame) => frame.clientMessageId === 'lou-2',
    );
    expect(refused).toMatchObject({
      type: 'error',
      code: 'forbidden',
      message: 'you cannot send messages to this user',
    });
    const noGroup = await ask(
      lou,
      { action: 'createConversation', clientRequestId: 'lou-group', members: ['kim', 'max'] },
      (frame) => frame.clientRequestId === 'lou-group',
    );
    expect(noGroup).toMatchObject({
      type: 'error',
      code: 'forbidden',
      message: 'members: some members cannot be added',
    });

    // and in the group, lou's typing does not reach kim, and his message reaches her hidden, max whole
    lou.send({ action: 'typing', conversationId: group, state: 'start' });
    await max.until((frame) => frame.type === 'typing' && frame.userId === 'lou');
    lou.send({
      action: 'sendMessage',
      conversationId: group,
      clientMessageId: 'lou-3',
      content: 'still here',
    });
    const inGroup = await lou.until((frame) => frame.type === 'ack' && frame.clientMessageId === 'lou-3');
    // (typing was posted to all before the message was sent: it would come first on kim's socket)
    const toKim = await kim.until(
      (frame) =>
        (frame.type === 'typing' && frame.userId === 'lou') ||
        (frame.type === 'message' && frame.messageId === inGroup.messageId),
    );
    expect(toKim).toMatchObject({ senderId: 'lou', content: '', hidden: true });
    const toMax = await max.until(
      (frame) => frame.type === 'message' && frame.messageId === inGroup.messageId,
    );
    expect(toMax).toMatchObject({ content: 'still here' });
    expect(toMax).not.toHaveProperty('hidden');
    const synced = await ask(
      kim,
      { action: 'sync', conversationId: group },
      (frame) => frame.type === 'messages',
    );
    expect(synced.messages).toEqual([
      expect.objectContaining({ messageId: inGroup.messageId, content: '', hidden: true }),
    ]);

    // and kim's list marks the direct conversation blocked
    const list = await ask(kim, { action: 'sync' }, (frame) => frame.type === 'conversations');
    expect((list.conversations as Frame[]).find((entry) => entry.conversationId === direct)).toMatchObject({
      blocked: true,
    });

    // WHEN kim unblocks lou THEN he can write to her again, and sync shows his group message
    expect(await ask(kim, { action: 'block', userId: 'lou', on: false }, acked('block'))).toEqual({
      type: 'ack',
      action: 'block',
    });
    const again = await ask(
      lou,
      { action: 'sendMessage', conversationId: direct, clientMessageId: 'lou-4', content: 'sorry' },
      (frame) => frame.clientMessageId === 'lou-4',
    );
    expect(again).toMatchObject({ type: 'ack', seq: 2 });
    const resynced = await ask(
      kim,
      { action: 'sync', conversationId: group },
      (frame) => frame.type === 'messages',
    );
    expect(resynced.messages).toEqual([expect.objectContaining({ content: 'still here' })]);
    for (const client of [kim, lou, max]) client.socket.close();
  });

  it('sends the blocker no push for the blocked user’s group message, while the others get theirs', async () => {
    const [nia, ole, pat] = await Promise.all([join('nia'), join('ole'), join('pat')]);
    for (const client of [nia, pat]) {
      expect(
        await ask(
          client,
          { action: 'registerDevice', platform: 'fcm', token: `fcm-${client === nia ? 'nia' : 'pat'}` },
          acked('registerDevice'),
        ),
      ).toMatchObject({ type: 'ack' });
    }
    ole.send({
      action: 'createConversation',
      clientRequestId: 'push-group',
      members: ['nia', 'pat'],
      title: 'Pushes',
    });
    const created = await ole.until((frame) => frame.type === 'conversation' && frame.title === 'Pushes');
    expect(await ask(nia, { action: 'block', userId: 'ole', on: true }, acked('block'))).toMatchObject({
      type: 'ack',
    });
    for (const client of [nia, pat]) {
      client.socket.close();
      await client.closed;
    }
    await pipelineIdle(stack.httpUrl);

    ole.send({
      action: 'sendMessage',
      conversationId: created.conversationId,
      clientMessageId: 'ole-1',
      content: 'anyone?',
    });
    await ole.until((frame) => frame.type === 'ack' && frame.clientMessageId === 'ole-1');
    await pipelineIdle(stack.httpUrl);

    const forMessage = (await pushes()).filter(
      (push) => (push.data as Frame)?.conversationId === created.conversationId,
    );
    expect(forMessage.map((push) => push.userId)).toEqual(['pat']);
    ole.socket.close();
  });
});
