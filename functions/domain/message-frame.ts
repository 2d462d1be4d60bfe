/** A stored message as clients see it: the `message` frame, and the same fields in `sync` pages. */
import type { MessageFrame, MessageView } from './frames.ts';
import type { StoredMessage } from './model.ts';

export function toMessageView(message: StoredMessage): MessageView {
  return {
    conversationId: message.conversationId,
    messageId: message.messageId,
    seq: message.seq,
    senderId: message.senderId,
    content: message.content,
    createdAt: message.createdAt,
    clientMessageId: message.clientMessageId,
  };
}

export const toMessageFrame = (message: StoredMessage): MessageFrame => ({
  type: 'message',
  ...toMessageView(message),
});
