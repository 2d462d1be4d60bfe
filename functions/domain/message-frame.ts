/** A stored message as clients see it: the `message` frame, and the same fields in `sync` pages. */
import type { MessageUpdatedFrame, MessageView } from './frames.ts';
import type { StoredMessage } from './model.ts';
import { messageVersion } from './versions.ts';

/** The version a message carries: stored once it changed, its seq's until then. */
export const versionOf = (message: StoredMessage): number => message.version ?? messageVersion(message.seq);

export function toMessageView(message: StoredMessage): MessageView {
  return {
    conversationId: message.conversationId,
    messageId: message.messageId,
    seq: message.seq,
    senderId: message.senderId,
    content: message.content,
    createdAt: message.createdAt,
    clientMessageId: message.clientMessageId,
    version: versionOf(message),
    ...(message.editedAt !== undefined && { editedAt: message.editedAt }),
    ...(message.deleted === true && { deleted: true }),
    // A tombstone keeps no reactions (the table removes them too; this holds in between).
    ...(message.deleted !== true &&
      message.reactions !== undefined &&
      Object.keys(message.reactions).length > 0 && { reactions: message.reactions }),
  };
}

/** A message's current state after an edit, a deletion or a reaction. */
export const toMessageUpdatedFrame = (message: StoredMessage): MessageUpdatedFrame => ({
  type: 'messageUpdated',
  conversationId: message.conversationId,
  messageId: message.messageId,
  seq: message.seq,
  version: versionOf(message),
  content: message.deleted === true ? '' : message.content,
  editedAt: message.editedAt ?? null,
  deleted: message.deleted === true,
  reactions: message.deleted === true ? {} : (message.reactions ?? {}),
});
