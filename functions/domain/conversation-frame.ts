import type { ConversationFrame } from './frames.ts';
import type { Conversation } from './model.ts';

/** The `conversation` frame: createConversation's answer, and what delivery posts on a conversation INSERT. */
export function toConversationFrame(conversation: Conversation): ConversationFrame {
  return {
    type: 'conversation',
    conversationId: conversation.conversationId,
    kind: conversation.kind,
    members: conversation.members,
    title: conversation.title,
    createdAt: conversation.createdAt,
  };
}
