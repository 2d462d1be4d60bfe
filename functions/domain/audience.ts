/** Who a conversation's stored events go to: its members, with their connections, devices and state. */
import { getConversation } from '../adapters/conversation-store.ts';
import { loadUsers, type UserDirectoryEntry } from '../adapters/user-directory.ts';

/**
 * Thrown when the conversation is not visible yet (its item is read eventually consistently, right
 * after the transaction that created it): retrying the stream record will find it.
 */
export class ConversationNotVisibleError extends Error {
  override readonly name = 'ConversationNotVisibleError';
}

export async function loadAudience(conversationId: string): Promise<UserDirectoryEntry[]> {
  const conversation = await getConversation(conversationId);
  if (conversation === undefined) {
    throw new ConversationNotVisibleError(`conversation ${conversationId} not found; retrying the record`);
  }
  return loadUsers(conversation.members);
}

/**
 * A deactivated user receives nothing new: their connections are being closed and their devices may
 * be in someone else's hands.
 */
export const isReachable = (entry: UserDirectoryEntry): boolean => !entry.state.deactivated;
