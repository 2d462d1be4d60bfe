/**
 * Attachments on a fake socket and an injected fetch: uploadAttachment asks for an upload (its own
 * clientRequestId), waits for the `upload` frame naming it, PUTs the bytes with the frame's headers and
 * resolves with the uploadId; send() carries `attachments`, allows empty content with them, and retries
 * (and restores after a restart) with the same attachments and clientMessageId.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientFrame, Message, UploadFetch, UploadFrame } from '../../../client/src/index.ts';
import { memoryStorage, ParleyError, UploadError } from '../../../client/src/index.ts';
import { answerSync, connected, flush, newClient } from '../../support/fake-parley.ts';
import { FakeWebSocket } from '../../support/fake-websocket.ts';

type RequestUploadFrame = Extract<ClientFrame, { action: 'requestUpload' }>;
type SendFrame = Extract<ClientFrame, { action: 'sendMessage' }>;

beforeEach(() => {
  vi.useFakeTimers();
  FakeWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

function uploadFor(request: RequestUploadFrame, uploadId = 'up-1'): UploadFrame {
  return {
    type: 'upload',
    clientRequestId: request.clientRequestId,
    uploadId,
    url: `http://s3.test/uploads/${uploadId}?X-Amz-Signature=abc`,
    method: 'PUT',
    headers: { 'Content-Type': request.contentType, 'Content-Length': String(request.size) },
    expiresAt: '2026-12-02T10:15:00.000Z',
  };
}

const okFetch = () => vi.fn<UploadFetch>(async () => ({ ok: true, status: 200 }));

describe('uploadAttachment', () => {
  it('requests an upload, PUTs the bytes with the given headers, and resolves with the uploadId', async () => {
    const client = newClient();
    const socket = await connected(client);
    const fetch = okFetch();
    const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    const uploading = client.uploadAttachment(bytes, 'image/png', { fetch });
    await flush();
    const [request] = socket.sentOf('requestUpload');
    expect(request).toEqual({
      action: 'requestUpload',
      clientRequestId: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      contentType: 'image/png',
      size: 7,
    });
    expect(fetch).not.toHaveBeenCalled();
    // Another request's upload frame is not this one's.
    socket.receive({
      ...uploadFor(request as RequestUploadFrame, 'up-other'),
      clientRequestId: 'someone-else',
    });
    await flush();
    expect(fetch).not.toHaveBeenCalled();
    socket.receive(uploadFor(request as RequestUploadFrame));
    await expect(uploading).resolves.toBe('up-1');
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch).toHaveBeenCalledWith('http://s3.test/uploads/up-1?X-Amz-Signature=abc', {
      method: 'PUT',
      headers: { 'Content-Type': 'image/png', 'Content-Length': '7' },
      body: bytes,
    });
  });

  it('takes a Blob, and uses a fresh clientRequestId per upload, in parallel', async () => {
    const client = newClient();
    const socket = await connected(client);
    const fetch = okFetch();
    const blob = new Blob([new Uint8Array(10)], { type: 'image/jpeg' });
    const first = client.uploadAttachment(blob, 'image/jpeg', { fetch });
    const second = client.uploadAttachment(new Uint8Array(3), 'image/gif', { fetch });
    await flush();
    const requests = socket.sentOf('requestUpload');
    expect(requests.map((r) => r.size)).toEqual([10, 3]);
    expect(requests[0]?.clientRequestId).not.toBe(requests[1]?.clientRequestId);
    socket.receive(uploadFor(requests[1] as RequestUploadFrame, 'up-b'));
    socket.receive(uploadFor(requests[0] as RequestUploadFrame, 'up-a'));
    await expect(Promise.all([first, second])).resolves.toEqual(['up-a', 'up-b']);
    expect(fetch.mock.calls[1]?.[1].body).toBe(blob);
  });

  it("rejects with the server's error naming its clientRequestId, without uploading", async () => {
    const client = newClient();
    const socket = await connected(client);
    const fetch = okFetch();
    const uploading = client.uploadAttachment(new Uint8Array(4), 'application/pdf', { fetch });
    await flush();
    const [request] = socket.sentOf('requestUpload');
    socket.receive({
      type: 'error',
      code: 'bad_request',
      message: 'contentType: not allowed',
      action: 'requestUpload',
      clientRequestId: request?.clientRequestId,
    });
    const error = await uploading.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toMatchObject({ code: 'bad_request' });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('rejects with UploadError when the PUT is refused or fails', async () => {
    const client = newClient();
    const socket = await connected(client);
    const refused = client.uploadAttachment(new Uint8Array(4), 'image/png', {
      fetch: async () => ({ ok: false, status: 403 }),
    });
    const broken = client.uploadAttachment(new Uint8Array(4), 'image/png', {
      fetch: async () => {
        throw new TypeError('network down');
      },
    });
    await flush();
    for (const request of socket.sentOf('requestUpload')) socket.receive(uploadFor(request));
    await expect(refused).rejects.toEqual(expect.objectContaining({ name: 'UploadError', status: 403 }));
    const error = await broken.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UploadError);
    expect((error as UploadError).message).toContain('network down');
  });

  it('refuses a file over 25 MiB without asking', async () => {
    const client = newClient();
    const socket = await connected(client);
    const big = { size: 25 * 1024 * 1024 + 1 } as Blob;
    await expect(client.uploadAttachment(big, 'video/mp4', { fetch: okFetch() })).rejects.toMatchObject({
      code: 'too_large',
    });
    expect(socket.sentOf('requestUpload')).toEqual([]);
  });
});

describe('send with attachments', () => {
  const attachment = {
    attachmentId: 'att-1',
    contentType: 'image/png',
    size: 7,
    url: 'http://s3.test/attachments/c1/up-1?sig',
    expiresAt: '2026-12-02T11:00:00.000Z',
  };

  function ack(frame: SendFrame, seq: number) {
    return {
      type: 'ack',
      action: 'sendMessage',
      clientMessageId: frame.clientMessageId,
      conversationId: 'c1',
      messageId: `m-${seq}`,
      seq,
      createdAt: '2026-12-02T10:00:00.000Z',
      duplicate: false,
    } as const;
  }

  it('sends them with empty content, and hands on the message with its download links', async () => {
    const client = newClient();
    const socket = await connected(client);
    const handed: Message[] = [];
    client.on('message', (m) => handed.push(m));
    const sending = client.send({ conversationId: 'c1' }, '  ', { attachments: [{ uploadId: 'up-1' }] });
    const [frame] = socket.sentOf('sendMessage');
    expect(frame).toEqual({
      action: 'sendMessage',
      clientMessageId: expect.any(String),
      content: '',
      attachments: [{ uploadId: 'up-1' }],
      conversationId: 'c1',
    });
    socket.receive(ack(frame as SendFrame, 1));
    await flush();
    // The ack names no attachment: the message is fetched as members see it.
    expect(socket.sentOf('sync').at(-1)).toEqual({
      action: 'sync',
      conversationId: 'c1',
      afterSeq: 0,
      limit: 1,
    });
    const full: Message = {
      conversationId: 'c1',
      messageId: 'm-1',
      seq: 1,
      senderId: 'alice',
      content: '',
      createdAt: '2026-12-02T10:00:00.000Z',
      clientMessageId: (frame as SendFrame).clientMessageId,
      attachments: [attachment],
    };
    answerSync(socket, 'c1', [full]);
    await expect(sending).resolves.toEqual(full);
    expect(handed).toEqual([full]);
    expect(client.message('c1', 1)).toEqual(full);
  });

  it('still refuses empty content without attachments, and more than 10', async () => {
    const client = newClient();
    const socket = await connected(client);
    await expect(client.send({ conversationId: 'c1' }, '', { attachments: [] })).rejects.toMatchObject({
      code: 'bad_request',
    });
    const eleven = Array.from({ length: 11 }, (_, i) => ({ uploadId: `up-${i}` }));
    await expect(client.send({ conversationId: 'c1' }, 'hi', { attachments: eleven })).rejects.toMatchObject({
      code: 'too_large',
    });
    expect(socket.sentOf('sendMessage')).toEqual([]);
  });

  it('retries with the same clientMessageId and attachments, after a timeout and after a restart', async () => {
    const storage = memoryStorage();
    const first = newClient({ storage, ackTimeoutMs: 5_000 });
    const socket = await connected(first);
    const abandoned = first.send({ conversationId: 'c1' }, 'look', {
      attachments: [{ uploadId: 'up-1' }, { uploadId: 'up-2' }],
    });
    await vi.advanceTimersByTimeAsync(5_000);
    const frames = socket.sentOf('sendMessage');
    expect(frames).toHaveLength(2);
    expect(frames[1]).toEqual(frames[0]);
    first.close();
    await expect(abandoned).rejects.toMatchObject({ name: 'ClientClosedError' });

    const second = newClient({ storage });
    const next = await connected(second);
    const resent = next.sentOf('sendMessage');
    expect(resent).toEqual([frames[0]]);
    expect(second.pending[0]?.attachments).toEqual([{ uploadId: 'up-1' }, { uploadId: 'up-2' }]);
  });
});
