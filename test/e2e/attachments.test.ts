/**
 * Photo attachments through the local stack (`npm start`'s child process, s3rver as the bucket) with
 * real WebSocket clients and real HTTP: ann uploads a photo with the presigned PUT, sends it, bob gets
 * a `message` whose download link returns the very bytes; an upload whose stored type or size is not
 * the declared one is refused when attached (s3rver takes any PUT, so this is the HEAD check alone);
 * a download link stops working once it expires (2 s here, by `ATTACHMENT_URL_SECONDS`); an upload
 * belongs to one message (protocol.md 1.2), so deleting a message never breaks another's attachment.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStackProcess, startLocalStackProcess } from '../../local/harness/local-stack-process.ts';
import { type Client, connect } from '../../local/harness/ws-client.ts';
import { localToken } from './support/tokens.ts';

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

/** requestUpload, then the PUT of `bytes` to its URL with its headers: the uploadId. */
async function uploaded(
  client: Client,
  clientRequestId: string,
  bytes: Buffer<ArrayBuffer>,
): Promise<string> {
  const upload = await requestUpload(client, clientRequestId, 'image/png', bytes.length);
  const put = await fetch(String(upload.url), {
    method: 'PUT',
    headers: upload.headers as Record<string, string>,
    body: bytes,
  });
  expect(put.status).toBe(200);
  return String(upload.uploadId);
}

/** sendMessage with uploads to `to`: the answer, `ack` or `error`. */
async function sendWith(client: Client, to: string, clientMessageId: string, uploadIds: string[]) {
  client.send({
    action: 'sendMessage',
    to,
    clientMessageId,
    content: '',
    attachments: uploadIds.map((uploadId) => ({ uploadId })),
  });
  return client.until(
    (frame) => (frame.type === 'ack' || frame.type === 'error') && frame.clientMessageId === clientMessageId,
  );
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

  it('belongs to one message: another message carrying it is refused, a retry of the first is its duplicate ack', async () => {
    // GIVEN eve sent an upload to fay in m-1
    const eve = await join('eve');
    const first = await uploaded(eve, 'one-photo', randomBytes(512));
    const sent = await sendWith(eve, 'fay', 'm-one-1', [first]);
    expect(sent).toMatchObject({ type: 'ack', duplicate: false });

    // WHEN she attaches the same upload to another message, alone or with a fresh upload
    const second = await uploaded(eve, 'another-photo', randomBytes(256));
    const again = await sendWith(eve, 'fay', 'm-one-2', [first]);
    const withAnother = await sendWith(eve, 'fay', 'm-one-3', [second, first]);

    // THEN both are refused as bad_request
    for (const answer of [again, withAnother]) {
      expect(answer).toMatchObject({
        type: 'error',
        code: 'bad_request',
        action: 'sendMessage',
        message: `attachments: upload ${first} is already attached to another message`,
      });
    }
    // AND a retry of m-1 is still its duplicate ack, with no error
    expect(await sendWith(eve, 'fay', 'm-one-1', [first])).toEqual({ ...sent, duplicate: true });
    // AND the refused send claimed nothing: the fresh upload goes with another message
    expect(await sendWith(eve, 'fay', 'm-one-4', [second])).toMatchObject({ type: 'ack' });
    // AND asking for the attached upload again does not reopen it
    eve.send({ action: 'requestUpload', clientRequestId: 'one-photo', contentType: 'image/png', size: 512 });
    expect(await eve.until((frame) => frame.clientRequestId === 'one-photo')).toMatchObject({
      type: 'error',
      code: 'bad_request',
    });
    eve.socket.close();
  });

  it('stays downloadable in every other message when one message is deleted', async () => {
    // GIVEN gus sent two messages to hal, each with an upload of its own
    const [gus, hal] = await Promise.all([join('gus'), join('hal')]);
    const photos = [randomBytes(700), randomBytes(900)];
    const uploads = [
      await uploaded(gus, 'photo-a', photos[0] as Buffer<ArrayBuffer>),
      await uploaded(gus, 'photo-b', photos[1] as Buffer<ArrayBuffer>),
    ];
    const doomed = await sendWith(gus, 'hal', 'm-del-1', [uploads[0] as string]);
    const kept = await sendWith(gus, 'hal', 'm-del-2', [uploads[1] as string]);
    expect([doomed.type, kept.type]).toEqual(['ack', 'ack']);
    // AND a third message tried to carry the first message's upload too (refused, or today's bug)
    await sendWith(gus, 'hal', 'm-del-3', [uploads[0] as string]);
    const conversationId = String(doomed.conversationId);

    // WHEN gus deletes the first message
    gus.send({ action: 'deleteMessage', conversationId, seq: doomed.seq });
    await gus.until((frame) => frame.type === 'ack' && frame.action === 'deleteMessage');

    // THEN every message that still carries an attachment downloads its bytes, and the deleted one none
    hal.send({ action: 'sync', conversationId });
    const page = await hal.until(
      (frame) => frame.type === 'messages' && frame.conversationId === conversationId,
    );
    const messages = page.messages as Record<string, unknown>[];
    expect(messages.find((message) => message.seq === doomed.seq)).toMatchObject({
      deleted: true,
      content: '',
    });
    expect(messages.find((message) => message.seq === doomed.seq)?.attachments).toBeUndefined();
    const carrying = messages.filter((message) => Array.isArray(message.attachments));
    expect(carrying.map((message) => message.seq)).toContain(kept.seq);
    // (fetched at once: the links of this stack are valid for 2 s)
    const links = carrying.flatMap((message) =>
      (message.attachments as Record<string, unknown>[]).map((attachment) => ({
        seq: message.seq,
        attachment,
      })),
    );
    const downloads = await Promise.all(
      links.map(async ({ seq, attachment }) => {
        const got = await fetch(String(attachment.url));
        return {
          seq,
          attachmentId: attachment.attachmentId,
          status: got.status,
          bytes: Buffer.from(await got.arrayBuffer()),
        };
      }),
    );
    for (const download of downloads) {
      expect(download.status, `seq ${download.seq}, ${download.attachmentId}`).toBe(200);
      expect(download.bytes.equals(photos[uploads.indexOf(String(download.attachmentId))] as Buffer)).toBe(
        true,
      );
    }
    gus.socket.close();
    hal.socket.close();
  });
});
