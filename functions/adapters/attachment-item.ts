/** The `attachments` of a message item, read the same way by `sync`, the conversation list and the stream. */
import type { StoredAttachment, StoredMessage } from '../domain/model.ts';

type Item = Record<string, unknown>;

function attachmentOf(value: unknown): StoredAttachment | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { attachmentId, key, contentType, size } = value as Record<string, unknown>;
  if (typeof attachmentId !== 'string' || typeof key !== 'string' || typeof contentType !== 'string') {
    return undefined;
  }
  if (typeof size !== 'number' || !Number.isInteger(size)) return undefined;
  return { attachmentId, key, contentType, size };
}

/** `attachments` when the item has any well-formed ones (a plain message has none). */
export function attachmentsOf(item: Item): Pick<StoredMessage, 'attachments'> {
  if (!Array.isArray(item.attachments)) return {};
  const attachments = item.attachments.map(attachmentOf).filter((attachment) => attachment !== undefined);
  return attachments.length > 0 ? { attachments } : {};
}
