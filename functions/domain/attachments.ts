/**
 * Photo (and other file) attachments: the rules of protocol.md 1.1 and 1.2, where objects lie in the
 * bucket, attaching a sender's uploads to a message, and the download links members get.
 *
 * - An upload lies at `uploads/{userId}/{uploadId}`: whose it is can be read off the key, and the
 *   upload item (functions/adapters/upload-store.ts) says the same with what was declared.
 * - An upload belongs to one message (protocol.md 1.2). Attaching copies it to the message's own key,
 *   `attachments/{conversationId}/{senderId}/{clientMessageId}/{uploadId}`, so no two messages share an
 *   object and deleting one message never removes another's; then it claims the upload item for that
 *   (sender, clientMessageId). An uploadId another message holds is `bad_request`.
 * - The bucket's lifecycle rule removes everything under `uploads/` a day after it was written,
 *   attached or not; what a message holds lies under `attachments/`, which no rule touches. The copy
 *   also freezes the bytes: the uploader's PUT URL stays valid for minutes, but a later PUT changes
 *   only the upload, never what members were sent (a retried send reuses the claimed copy).
 */
import { claimOf, claimUploads, readUploads, type StoredUpload } from '../adapters/upload-store.ts';
import { copyAttachment, headAttachment, presignDownload, UploadChangedError } from '../shared/clients/s3.ts';
import { DOWNLOAD_URL_SECONDS } from '../shared/config.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from './errors.ts';
import { type AttachmentView, type MessageFrame, type MessageView, toMessageView } from './frames.ts';
import type { StoredAttachment, StoredMessage } from './model.ts';

/** How long a presigned upload URL is valid. */
export const UPLOAD_URL_SECONDS = 5 * 60;
export const uploadKey = (userId: string, uploadId: string): string => `uploads/${userId}/${uploadId}`;
/** The message's own copy of an upload: per message, so that no two messages share an object. */
export const attachmentKey = (message: AttachingMessage, uploadId: string): string =>
  `attachments/${message.conversationId}/${message.senderId}/${message.clientMessageId}/${uploadId}`;

/** The message that is being sent with the uploads. */
export interface AttachingMessage {
  senderId: string;
  clientMessageId: string;
  conversationId: string;
}

/**
 * The sender's uploads, checked and kept for the message (before it is committed), in this order:
 * each must exist (not_found) and be the sender's (forbidden), and no other message may hold it
 * (bad_request), all before any request to S3 or any write; then its object must exist in the bucket
 * (not_found) with exactly the declared type and size (bad_request); it is copied to the message's key,
 * and last the uploads are claimed for the message, all or none (an upload claimed meanwhile by another
 * message is bad_request). An upload this message already holds (a retried send: its earlier attempt
 * copied and claimed it, and may have committed) is taken as it was kept, with no request at all.
 * Plain text never gets here: no upload, no request.
 */
export async function attachUploads(
  message: AttachingMessage,
  uploadIds: readonly string[],
): Promise<StoredAttachment[]> {
  const wanted = [...new Set(uploadIds)];
  if (wanted.length === 0) return [];
  const { senderId } = message;
  const claim = claimOf(senderId, message.clientMessageId);
  const found = await readUploads(wanted);
  const uploads = wanted.map((uploadId) => {
    const upload = found.get(uploadId);
    if (upload === undefined) throw new NotFoundError(`attachments: no upload ${uploadId}`);
    if (upload.ownerId !== senderId || upload.key !== uploadKey(senderId, uploadId)) {
      throw new ForbiddenError(`attachments: upload ${uploadId} is not yours`);
    }
    return upload;
  });
  // After every ownership and existence question, before any request to S3.
  for (const upload of uploads) {
    if (upload.claimedBy !== undefined && upload.claimedBy !== claim) throw alreadyAttached(upload.uploadId);
  }
  const kept = await Promise.all(
    uploads.map(async (upload) =>
      upload.claimedBy === claim && upload.attachmentKey !== undefined
        ? { upload, key: upload.attachmentKey, copied: false }
        : { upload, key: await copyUpload(message, upload), copied: true },
    ),
  );
  const claiming = kept
    .filter((attachment) => attachment.copied)
    .map(({ upload, key }) => ({ uploadId: upload.uploadId, attachmentKey: key }));
  const result = await claimUploads(claim, claiming);
  if (!result.claimed) {
    if (result.holder === undefined) throw new NotFoundError(`attachments: no upload ${result.uploadId}`);
    throw alreadyAttached(result.uploadId);
  }
  return kept.map(({ upload, key }) => ({
    attachmentId: upload.uploadId,
    key,
    contentType: upload.contentType,
    size: upload.size,
  }));
}

const alreadyAttached = (uploadId: string): BadRequestError =>
  new BadRequestError(`attachments: upload ${uploadId} is already attached to another message`);

/** HEAD the upload, compare it with the declaration, copy it to the message's key (the key). */
async function copyUpload(message: AttachingMessage, upload: StoredUpload): Promise<string> {
  const { uploadId } = upload;
  const stored = await headAttachment(upload.key);
  if (stored === undefined) throw new NotFoundError(`attachments: upload ${uploadId} was never uploaded`);
  if (stored.contentType !== upload.contentType || stored.size !== upload.size) {
    throw new BadRequestError(
      `attachments: upload ${uploadId} holds ${stored.contentType ?? 'no type'} of ${stored.size} bytes, ` +
        `not the ${upload.contentType} of ${upload.size} bytes it was requested as`,
    );
  }
  const key = attachmentKey(message, uploadId);
  try {
    await copyAttachment(upload.key, key, stored.etag);
  } catch (error) {
    if (error instanceof UploadChangedError) {
      throw new BadRequestError(`attachments: upload ${uploadId} changed while it was attached`);
    }
    throw error;
  }
  return key;
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
