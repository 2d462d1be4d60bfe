/**
 * Photo (and other file) attachments: the rules of protocol.md 1.1, where objects lie in the bucket,
 * attaching a sender's uploads to a message, and the download links members get.
 *
 * - An upload lies at `uploads/{userId}/{uploadId}`: whose it is can be read off the key, and the
 *   upload item (functions/adapters/upload-store.ts) says the same with what was declared.
 * - Attaching copies it to `attachments/{conversationId}/{uploadId}`. The bucket's lifecycle rule
 *   removes everything under `uploads/` a day after it was written, attached or not; what a message
 *   holds lies under `attachments/`, which no rule touches. The copy also freezes the bytes: the
 *   uploader's PUT URL stays valid for minutes, but a later PUT changes only the upload, never what
 *   members were sent.
 */
import { readUploads } from '../adapters/upload-store.ts';
import { copyAttachment, headAttachment, presignDownload, UploadChangedError } from '../shared/clients/s3.ts';
import { positiveIntegerEnv } from '../shared/env.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from './errors.ts';
import type { AttachmentView, MessageFrame, MessageView } from './frames.ts';
import { toMessageView } from './message-frame.ts';
import type { StoredAttachment, StoredMessage } from './model.ts';

/** How long a presigned upload URL is valid. */
export const UPLOAD_URL_SECONDS = 5 * 60;
/**
 * How long a download link is valid: an hour by default (short-lived, yet long enough to scroll back
 * through a conversation); `ATTACHMENT_URL_SECONDS` overrides it (the e2e test waits one out).
 * In AWS a presigned URL also stops working when the signing role's session ends, which for a
 * Lambda is at the earliest about that long after its container started.
 */
export const DOWNLOAD_URL_SECONDS = positiveIntegerEnv('ATTACHMENT_URL_SECONDS', 60 * 60);

export const uploadKey = (userId: string, uploadId: string): string => `uploads/${userId}/${uploadId}`;
export const attachmentKey = (conversationId: string, uploadId: string): string =>
  `attachments/${conversationId}/${uploadId}`;

/**
 * The sender's uploads, checked and kept for the message (before it is committed): each must be the
 * sender's (forbidden), exist in the bucket (not_found) with exactly the declared type and size
 * (bad_request). A retried send repeats the same copies to the same keys.
 */
export async function attachUploads(
  senderId: string,
  conversationId: string,
  uploadIds: readonly string[],
): Promise<StoredAttachment[]> {
  const wanted = [...new Set(uploadIds)];
  if (wanted.length === 0) return [];
  const uploads = await readUploads(wanted);
  // Every ownership and existence question before any request to S3.
  for (const uploadId of wanted) {
    const upload = uploads.get(uploadId);
    if (upload === undefined) throw new NotFoundError(`attachments: no upload ${uploadId}`);
    if (upload.ownerId !== senderId || upload.key !== uploadKey(senderId, uploadId)) {
      throw new ForbiddenError(`attachments: upload ${uploadId} is not yours`);
    }
  }
  return Promise.all(
    wanted.map(async (uploadId) => {
      const upload = uploads.get(uploadId);
      if (upload === undefined) throw new NotFoundError(`attachments: no upload ${uploadId}`);
      const stored = await headAttachment(upload.key);
      if (stored === undefined) throw new NotFoundError(`attachments: upload ${uploadId} was never uploaded`);
      if (stored.contentType !== upload.contentType || stored.size !== upload.size) {
        throw new BadRequestError(
          `attachments: upload ${uploadId} holds ${stored.contentType ?? 'no type'} of ${stored.size} bytes, ` +
            `not the ${upload.contentType} of ${upload.size} bytes it was requested as`,
        );
      }
      const key = attachmentKey(conversationId, uploadId);
      try {
        await copyAttachment(upload.key, key, stored.etag);
      } catch (error) {
        if (error instanceof UploadChangedError) {
          throw new BadRequestError(`attachments: upload ${uploadId} changed while it was attached`);
        }
        throw error;
      }
      return { attachmentId: uploadId, key, contentType: upload.contentType, size: upload.size };
    }),
  );
}

/** Download links for a message's attachments; none for a tombstone. Signing is local computation. */
export async function attachmentViews(
  message: StoredMessage,
  now: Date = new Date(),
): Promise<AttachmentView[]> {
  if (message.deleted === true || message.attachments === undefined) return [];
  const expiresAt = new Date(
    Math.floor(now.getTime() / 1000) * 1000 + DOWNLOAD_URL_SECONDS * 1000,
  ).toISOString();
  return Promise.all(
    message.attachments.map(async (attachment) => ({
      attachmentId: attachment.attachmentId,
      contentType: attachment.contentType,
      size: attachment.size,
      url: await presignDownload(attachment.key, DOWNLOAD_URL_SECONDS, now),
      expiresAt,
    })),
  );
}

/** toMessageView with the attachments' download links, for `sync` pages, `lastMessage` and delivery. */
export async function messageViewOf(message: StoredMessage, now: Date = new Date()): Promise<MessageView> {
  const view = toMessageView(message);
  const attachments = await attachmentViews(message, now);
  return attachments.length === 0 ? view : { ...view, attachments };
}

export async function messageFrameOf(message: StoredMessage, now: Date = new Date()): Promise<MessageFrame> {
  return { type: 'message', ...(await messageViewOf(message, now)) };
}
