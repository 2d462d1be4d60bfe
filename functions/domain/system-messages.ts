/**
 * Notices the app's backend sends through the server API (integration.md: `senderId: "system"`), such as
 * "You matched with Ada": stored and delivered as messages of the conversation, from no member. Each
 * conversation has its own rate limit for them (a backend posting to many conversations at once is
 * not one user flooding one), and a clientMessageId is unique per conversation (message-store.ts).
 * They are the backend's own words: the send hook is not asked, and no block hides them.
 */
import { SYSTEM_SENDER } from '../../definitions/server-api.ts';
import { getConversation } from '../adapters/conversation-store.ts';
import { commitMessage } from '../adapters/message-store.ts';
import { normalizeContent } from './content.ts';
import { NotFoundError } from './errors.ts';
import type { SendAckFrame } from './frames.ts';
import { newMessageId } from './identifiers.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface SystemMessageInput {
  conversationId: string;
  clientMessageId: string;
  content: string;
  /** Names the request (no connection sent it: every connection of every member gets the message). */
  origin: string;
  now: Date;
}

export async function sendSystemMessage(input: SystemMessageInput): Promise<SendAckFrame> {
  const content = normalizeContent(input.content, { allowEmpty: false });
  await requireWithinRate(`${SYSTEM_SENDER}@${input.conversationId}`, 'sendMessage', input.now);
  const conversation = await getConversation(input.conversationId, { consistent: true });
  if (conversation === undefined) throw new NotFoundError('no such conversation');
  const { message, duplicate } = await commitMessage({
    conversationId: conversation.conversationId,
    messageId: newMessageId(),
    senderId: SYSTEM_SENDER,
    senderName: SYSTEM_SENDER,
    content,
    createdAt: input.now.toISOString(),
    clientMessageId: input.clientMessageId,
    originConnectionId: input.origin,
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
