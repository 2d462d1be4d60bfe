import { commitMessage } from '../adapters/message-store.ts';
import { attachUploads } from './attachments.ts';
import { normalizeContent } from './content.ts';
import type { SendAckFrame } from './frames.ts';
import { newMessageId } from './identifiers.ts';
import { type ConversationTarget, refuseMessageToSelf, resolveForSending } from './membership.ts';
import type { Caller } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface SendMessageInput extends ConversationTarget {
  caller: Caller;
  connectionId: string;
  clientMessageId: string;
  content: string;
  /** Up to 10 of the sender's uploads (protocol.md 1.1); `content` may then be empty. */
  attachments?: readonly { uploadId: string }[];
  now: Date;
}

/**
 * Within the sender's rate limit, commits the message exactly once with the conversation's next `seq` and answers the `ack`. It never
 * posts the message: the table's stream delivers what is stored (architecture.md).
 */
export async function sendMessage(input: SendMessageInput): Promise<SendAckFrame> {
  const uploadIds = (input.attachments ?? []).map((attachment) => attachment.uploadId);
  const content = normalizeContent(input.content, { allowEmpty: uploadIds.length > 0 });
  // Before anything that writes (a first message creates the direct conversation).
  refuseMessageToSelf(input, input.caller.userId);
  await requireWithinRate(input.caller.userId, 'sendMessage', input.now);
  const target = await resolveForSending(input, input.caller.userId, input.now);
  // After membership: a non-member learns nothing about uploads either. Each upload is claimed for this
  // clientMessageId before the commit, so a retry of it (after a failed commit, or answered as the
  // duplicate) passes, and any other message is refused it. Before a first message creates its direct
  // conversation: a refused upload leaves no conversation behind.
  const attachments = await attachUploads(
    {
      senderId: input.caller.userId,
      clientMessageId: input.clientMessageId,
      conversationId: target.conversationId,
    },
    uploadIds,
  );
  const conversation = await target.ensure();
  const { message, duplicate } = await commitMessage({
    conversationId: conversation.conversationId,
    messageId: newMessageId(),
    senderId: input.caller.userId,
    senderName: input.caller.name,
    content,
    createdAt: input.now.toISOString(),
    clientMessageId: input.clientMessageId,
    originConnectionId: input.connectionId,
    ...(attachments.length > 0 && { attachments }),
  });
  return {
    type: 'ack',
    action: 'sendMessage',
    clientMessageId: message.clientMessageId,
    conversationId: message.conversationId,
    messageId: message.messageId,
    seq: message.seq,
    createdAt: message.createdAt,
    duplicate,
  };
}
