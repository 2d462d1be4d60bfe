/**
 * The app's backend in the loop, through the local stack (integration.md, "The server API"): the typed
 * client `@parley/server` (server/), signing with the local credentials, creates a direct conversation
 * on a match (accepted for both: each is told the other is online at once), posts a system notice and
 * a message as a member, reads the history, blocks on a user's behalf, and gets 403 with a wrong
 * secret. Real WebSocket clients see what the backend did.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { ParleyServer, ParleyServerError } from '../../server/src/index.ts';
import { localToken } from './support/tokens.ts';

let stack: LocalStackProcess;
let backend: ParleyServer;
type Frame = Record<string, unknown>;

beforeAll(async () => {
  stack = await startLocalStackProcess({}, ['--contact-policy', 'requests']);
  backend = ParleyServer.local({ url: stack.httpUrl });
});

afterAll(async () => {
  await stack?.stop();
});

const join = async (userId: string): Promise<Client> =>
  connect(`${stack.url}/?token=${await localToken(userId)}&deviceId=${userId}-phone`);

describe('the server API through the local stack', () => {
  it('matches two users: an accepted conversation, a notice, their messages, their presence', async () => {
    const [ada, ben] = await Promise.all([join('ada'), join('ben')]);

    const created = await backend.createConversation({ members: ['ada', 'ben'] });
    expect(created).toMatchObject({ kind: 'direct', members: ['ada', 'ben'], title: null });
    // accepted for both: no request, and each learns the other is online
    expect(await ada.until((frame) => frame.type === 'presence')).toEqual({
      type: 'presence',
      userId: 'ben',
      status: 'online',
    });
    await ben.until((frame) => frame.type === 'presence' && frame.userId === 'ada');

    const notice = await backend.sendMessage(created.conversationId, {
      senderId: 'system',
      clientMessageId: 'matched',
      content: 'You matched! Say hi.',
    });
    expect(notice).toMatchObject({ seq: 1, duplicate: false });
    const seen = await ada.until((frame) => frame.type === 'message' && frame.seq === 1);
    expect(seen).toMatchObject({ senderId: 'system', content: 'You matched! Say hi.' });

    const hello = await backend.sendMessage(created.conversationId, {
      senderId: 'ben',
      clientMessageId: `ben-${randomUUID()}`,
      content: 'hi ada',
    });
    expect(hello.seq).toBe(2);
    await ada.until((frame) => frame.type === 'message' && frame.seq === 2 && frame.senderId === 'ben');

    const history = await backend.listMessages(created.conversationId, { afterSeq: 0 });
    expect(history.messages.map((message) => [message.seq, message.senderId])).toEqual([
      [1, 'system'],
      [2, 'ben'],
    ]);

    ada.send({ action: 'sync' });
    const list = (await ada.until((frame) => frame.type === 'conversations')) as Frame & {
      conversations: Frame[];
    };
    const entry = list.conversations.find(
      (conversation) => conversation.conversationId === created.conversationId,
    );
    expect(entry).not.toHaveProperty('request');
    expect(entry).toMatchObject({ presence: { status: 'online' } });
    for (const client of [ada, ben]) client.socket.close();
  });

  it('blocks on a user’s behalf, and the blocked user is refused', async () => {
    const { conversationId } = await backend.createConversation({ members: ['cat', 'dan'] });
    await backend.block('cat', 'dan');

    await expect(
      backend.sendMessage(conversationId, { senderId: 'dan', clientMessageId: 'dan-1', content: 'hey' }),
    ).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    await backend.unblock('cat', 'dan');
    expect(
      await backend.sendMessage(conversationId, {
        senderId: 'dan',
        clientMessageId: 'dan-2',
        content: 'hey',
      }),
    ).toMatchObject({ seq: 1 });
  });

  it('is refused (403, not retried) with a wrong secret', async () => {
    const impostor = new ParleyServer({
      url: stack.httpUrl,
      region: 'local',
      credentials: { accessKeyId: 'PARLEYLOCALKEY', secretAccessKey: 'not-the-secret' },
    });
    const refused = await impostor.listReports().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ParleyServerError);
    expect(refused).toMatchObject({ status: 403, retryable: false });
  });
});
