/**
 * Edits, deletions and reactions through the local stack with real WebSocket clients: each change
 * reaches every member's connections, the changer's own included, as `messageUpdated`; a deleted
 * message stays in `sync` as a tombstone; nothing is pushed.
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

describe('a message that changes after it was sent', () => {
  it('reaches both sides as messageUpdated for an edit, a reaction and a deletion, and syncs as a tombstone', async () => {
    const [kim, lee] = await Promise.all([join('kim'), join('lee')]);
    kim.send({ action: 'sendMessage', to: 'lee', clientMessageId: 'change-me', content: 'see you at 5' });
    const ack = await kim.until((frame) => frame.type === 'ack' && frame.clientMessageId === 'change-me');
    const { conversationId, seq, messageId } = ack as {
      conversationId: string;
      seq: number;
      messageId: string;
    };
    await lee.until((frame) => frame.type === 'message' && frame.messageId === messageId);
    const updateOf = (client: Client, check: (frame: Record<string, unknown>) => boolean) =>
      client.until(
        (frame) => frame.type === 'messageUpdated' && frame.messageId === messageId && check(frame),
      );

    // An edit by the sender
    kim.send({ action: 'editMessage', conversationId, seq, content: 'see you at 6' });
    expect(await kim.until((frame) => frame.type === 'ack' && frame.action === 'editMessage')).toEqual({
      type: 'ack',
      action: 'editMessage',
      seq,
    });
    for (const client of [lee, kim]) {
      expect(await updateOf(client, (frame) => frame.content === 'see you at 6')).toMatchObject({
        conversationId,
        seq,
        deleted: false,
        editedAt: expect.stringMatching(/Z$/),
        reactions: {},
      });
    }

    // A reaction by the recipient; lee may not edit kim's message
    lee.send({ action: 'react', conversationId, seq, emoji: '👍', on: true });
    await lee.until((frame) => frame.type === 'ack' && frame.action === 'react');
    expect(await updateOf(kim, (frame) => JSON.stringify(frame.reactions) !== '{}')).toMatchObject({
      reactions: { '👍': ['lee'] },
      content: 'see you at 6',
    });
    lee.send({ action: 'editMessage', conversationId, seq, content: 'hijacked' });
    expect(
      await lee.until((frame) => frame.type === 'error' && frame.action === 'editMessage'),
    ).toMatchObject({
      code: 'forbidden',
    });

    // The deletion
    kim.send({ action: 'deleteMessage', conversationId, seq });
    await kim.until((frame) => frame.type === 'ack' && frame.action === 'deleteMessage');
    expect(await updateOf(lee, (frame) => frame.deleted === true)).toEqual({
      type: 'messageUpdated',
      conversationId,
      messageId,
      seq,
      // The third change since message 1 (edit, reaction, deletion): protocol.md 1.2's version.
      version: 1_000_003,
      content: '',
      editedAt: expect.stringMatching(/Z$/),
      deleted: true,
      reactions: {},
    });
    lee.send({ action: 'sync', conversationId, afterSeq: seq - 1 });
    const page = await lee.until(
      (frame) => frame.type === 'messages' && frame.conversationId === conversationId,
    );
    expect(page.messages).toEqual([expect.objectContaining({ seq, messageId, content: '', deleted: true })]);
    expect((page.messages as Record<string, unknown>[])[0]).not.toHaveProperty('reactions');

    // No push for any of it (both were online; a change never pushes anyway)
    const pushes = (await (await fetch(`${stack.httpUrl}/_local/pushes`)).json()) as unknown[];
    expect(pushes).toEqual([]);
    kim.socket.close();
    lee.socket.close();
  });
});
