/**
 * Which conversation a frame is about, and whether the caller may act in it: the membership rules
 * every conversation-scoped action shares.
 */
import { createDirectConversation, getConversation } from '../adapters/conversation-store.ts';
import { getUserState } from '../adapters/user-directory.ts';
import { ForbiddenError, NotFoundError } from './errors.ts';
import { directConversationId } from './ids.ts';
import type { Conversation } from './model.ts';

export interface ConversationTarget {
  conversationId?: string | undefined;
  to?: string | undefined;
}

/** The conversation the caller belongs to, or not_found / forbidden. */
export async function requireMembership(conversationId: string, userId: string): Promise<Conversation> {
  const conversation = await getConversation(conversationId);
  if (conversation === undefined) throw new NotFoundError('conversation not found');
  if (!conversation.members.includes(userId)) throw new ForbiddenError('not a member of this conversation');
  return conversation;
}

/** The existing conversation a target names (the direct one for `to`), with the caller a member. */
export async function resolveExisting(target: ConversationTarget, userId: string): Promise<Conversation> {
  if (target.to !== undefined) {
    if (target.to === userId) throw new ForbiddenError('you cannot address yourself');
    return requireMembership(directConversationId(userId, target.to), userId);
  }
  return requireMembership(target.conversationId ?? '', userId);
}

/**
 * The conversation a message goes to. `to` creates the direct conversation on first use. Direct
 * messages to a deactivated user are refused, whichever way the conversation is named.
 */
export async function resolveForSending(
  target: ConversationTarget,
  senderId: string,
  now: Date,
): Promise<Conversation> {
  if (target.to !== undefined) {
    const recipientId = target.to;
    if (recipientId === senderId) throw new ForbiddenError('you cannot send a message to yourself');
    const conversationId = directConversationId(senderId, recipientId);
    const [existing, recipient] = await Promise.all([
      getConversation(conversationId),
      getUserState(recipientId),
    ]);
    if (recipient.deactivated) throw new ForbiddenError('the recipient is deactivated');
    return existing ?? createDirectConversation(conversationId, senderId, recipientId, now.toISOString());
  }
  const conversation = await requireMembership(target.conversationId ?? '', senderId);
  if (conversation.kind === 'direct') {
    const other = conversation.members.find((member) => member !== senderId);
    if (other !== undefined && (await getUserState(other)).deactivated) {
      throw new ForbiddenError('the recipient is deactivated');
    }
  }
  return conversation;
}
