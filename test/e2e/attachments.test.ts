/**
 * Photo attachments through the local stack (`npm start`'s child process, s3rver as the bucket) with
 * real WebSocket clients and real HTTP: ann uploads a photo with the presigned PUT, sends it, bob gets
 * a `message` whose download link returns the very bytes; an upload whose stored type or size is not
 * the declared one is refused when attached (s3rver takes any PUT, so this is the HEAD check alone);
 * a download link stops working once it expires (2 s here, by `ATTACHMENT_URL_SECONDS`).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from './support/local-stack-process.ts';
import { localToken } from './support/tokens.ts';
import { type Client, connect } from './support/ws-client.ts';

let stack: LocalStackProcess;
const join = async (userId: string): Promise<Client> =>
  connect(`${stack.url}/?token=${await localToken(userId)}`);

beforeAll(async () => {
  stack = await startLocalStackProcess({ ATTACHMENT_URL_SECONDS: '2' });
});
afterAll(async () => {
  await stack?.stop();
});

async function requestUpload(client: Client, clientRequestId: string, contentType: string, size: number) {
  client.send({ action: 'requestUpload', clientRequestId, contentType, size });
  return client.until((frame) => frame.type === 'upload' && frame.clientRequestId === clientRequestId);
}

describe('a photo attachment', () => {
  it('is uploaded with the presigned PUT, sent, and downloaded by the other member until its link expires', async () => {
    // GIVEN ann and bob are connected, and ann has a photo
    const [ann, bob] = await Promise.all([join('ann'), join('bob')]);
    const photo = randomBytes(2048);

    // WHEN ann asks for an upload and PUTs the photo to its URL with its headers
    const upload = await requestUpload(ann, 'photo-1', 'image/png', photo.length);
    expect(upload).toMatchObject({
      method: 'PUT',
      headers: { 'Content-Type': 'image/png', 'Content-Length': '2048' },
    });
    const put = await fetch(String(upload.url), {
      method: 'PUT',
      headers: upload.headers as Record<string, string>,
      body: photo,
    });
    expect(put.status).toBe(200);

    // AND sends it to bob without text
    ann.send({
      action: 'sendMessage',
      to: 'bob',
      clientMessageId: 'm-photo',
      content: '',
      attachments: [{ uploadId: upload.uploadId }],
    });
    const ack = await ann.until((frame) => frame.type === 'ack' && frame.clientMessageId === 'm-photo');

    // THEN bob gets the message with a download link that returns the photo
    const message = await bob.until((frame) => frame.type === 'message' && frame.messageId === ack.messageId);
    expect(message.content).toBe('');
    const [attachment] = message.attachments as Record<string, unknown>[];
    expect(attachment).toMatchObject({ attachmentId: upload.uploadId, contentType: 'image/png', size: 2048 });
    const got = await fetch(String(attachment?.url));
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(photo)).toBe(true);

    // AND the same link fails once it has expired (polled, never a fixed sleep)
    const expiresAt = Date.parse(String(attachment?.expiresAt));
    const deadline = Date.now() + 15_000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      status = (await fetch(String(attachment?.url))).status;
    }
    expect(status).toBe(403);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);

    // AND a sync after that signs a fresh link that works again
    bob.send({ action: 'sync', conversationId: message.conversationId });
    const page = await bob.until((frame) => frame.type === 'messages');
    const synced = (page.messages as Record<string, unknown>[]).find((m) => m.messageId === ack.messageId);
    const fresh = (synced?.attachments as Record<string, unknown>[])[0];
    expect((await fetch(String(fresh?.url))).status).toBe(200);
    ann.socket.close();
    bob.socket.close();
  });

  it.each([
    ['another type', 'image/gif', 1000],
    ['another size', 'image/jpeg', 999],
  ])('is refused when the stored object has %s than declared', async (kind, storedType, storedSize) => {
    // GIVEN ann declared a 1000-byte JPEG but stored something else (s3rver does not check the signature)
    const ann = await join('ann');
    const upload = await requestUpload(ann, `bad-${storedSize}`, 'image/jpeg', 1000);
    const put = await fetch(String(upload.url), {
      method: 'PUT',
      headers: { 'Content-Type': storedType },
      body: randomBytes(storedSize),
    });
    expect(put.status).toBe(200);

    // WHEN she attaches it
    const clientMessageId = `m-bad-${kind.replace(' ', '-')}`;
    ann.send({
      action: 'sendMessage',
      to: 'bob',
      clientMessageId,
      content: 'look',
      attachments: [{ uploadId: upload.uploadId }],
    });

    // THEN it is refused, and nothing is sent
    const answer = await ann.until((frame) => frame.clientMessageId === clientMessageId);
    expect(answer).toMatchObject({ type: 'error', code: 'bad_request' });
    ann.socket.close();
  });
});
