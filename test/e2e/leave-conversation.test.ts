/**
 * Leaving, through the local stack with real WebSocket clients: the group's remaining members get the
 * `conversation` frame with the new member list, the leaver gets nothing more from it and can no
 * longer read it; a direct conversation left is hidden from the leaver's list until its next message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;

const join = async (userId: string): Promise<Client> =>
  connect(`${stack.url}/?token=${await localToken(userId)}`);

beforeAll(async () => {
  stack = await startLocalStackProcess();
});

afterAll(async () => {
  await stack?.stop();
});

const listIds = async (client: Client): Promise<string[]> => {
  client.send({ action: 'sync' });
  const list = await client.until((frame) => frame.type === 'conversations');
  return (list.conversations as { conversationId: string }[]).map((entry) => entry.conversationId);
};

describe('leaving a conversation', () => {
  it('takes the leaver out of a group: the others learn the new members, the leaver can no longer read it', async () => {
    const [ana, ben, cyd] = await Promise.all([join('ana'), join('ben'), join('cyd')]);
    ana.send({
      action: 'createConversation',
      clientRequestId: 'leave-group',
      members: ['ben', 'cyd'],
      title: 'Trip',
    });
    const created = await ana.until((frame) => frame.type === 'conversation' && frame.title === 'Trip');
    const conversationId = String(created.conversationId);
    await Promise.all(
      [ben, cyd].map((client) => client.until((frame) => frame.conversationId === conversationId)),
    );

    cyd.send({ action: 'leaveConversation', conversationId });
    expect(await cyd.until((frame) => frame.type === 'ack' && frame.action === 'leaveConversation')).toEqual({
      type: 'ack',
      action: 'leaveConversation',
    });
    for (const client of [ana, ben]) {
      const changed = await client.until(
        (frame) =>
          frame.type === 'conversation' &&
          frame.conversationId === conversationId &&
          !(frame.members as string[]).includes('cyd'),
      );
      expect(changed).toMatchObject({ kind: 'group', members: ['ana', 'ben'], title: 'Trip' });
    }

    // A message after the leave reaches ben, not cyd; cyd may not read the group any more.
    ana.send({ action: 'sendMessage', conversationId, clientMessageId: 'after-leave', content: 'cyd left' });
    const ack = await ana.until((frame) => frame.type === 'ack' && frame.clientMessageId === 'after-leave');
    await ben.until((frame) => frame.type === 'message' && frame.messageId === ack.messageId);
    // (ben already has it, so a post to cyd would have been made by now: it would come before the answer)
    cyd.send({ action: 'sync', conversationId });
    expect(
      await cyd.until(
        (frame) => frame.messageId === ack.messageId || (frame.type === 'error' && frame.action === 'sync'),
      ),
    ).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await listIds(cyd)).not.toContain(conversationId);
    for (const client of [ana, ben, cyd]) client.socket.close();
  });

  it('hides a direct conversation from the leaver until its next message', async () => {
    const [dov, eli] = await Promise.all([join('dov'), join('eli')]);
    dov.send({ action: 'sendMessage', to: 'eli', clientMessageId: 'dm-1', content: 'hi' });
    const first = await dov.until((frame) => frame.type === 'ack' && frame.clientMessageId === 'dm-1');
    const conversationId = String(first.conversationId);
    await eli.until((frame) => frame.type === 'message' && frame.messageId === first.messageId);

    eli.send({ action: 'leaveConversation', conversationId });
    await eli.until((frame) => frame.type === 'ack' && frame.action === 'leaveConversation');
    expect(await listIds(eli)).not.toContain(conversationId);
    expect(await listIds(dov)).toContain(conversationId);

    dov.send({ action: 'sendMessage', conversationId, clientMessageId: 'dm-2', content: 'still there?' });
    const second = await dov.until((frame) => frame.type === 'ack' && frame.clientMessageId === 'dm-2');
    await eli.until((frame) => frame.type === 'message' && frame.messageId === second.messageId);
    expect(await listIds(eli)).toContain(conversationId);
    dov.socket.close();
    eli.socket.close();
  });
});
