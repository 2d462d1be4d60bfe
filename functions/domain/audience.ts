/** Who a conversation's stored events go to: its members, with their connections, devices and state. */
import { PermanentFailure } from '../adapters/aws-errors.ts';
import { getConversation } from '../adapters/conversation-store.ts';
import { loadUsers, type UserDirectoryEntry } from '../adapters/user-directory.ts';
import type { Conversation } from './model.ts';

/**
 * The conversation item is read eventually consistently; right after the transaction that created it
 * it may not be visible yet, so a miss is read again strongly consistently. A conversation that is
 * really not there cannot be delivered by any retry: that is a permanent failure of the record.
 */
export async function loadAudience(conversationId: string): Promise<UserDirectoryEntry[]> {
  return (await loadConversationAudience(conversationId)).members;
}

/** loadAudience, with the conversation item it read (its kind and title name a group in push titles). */
export async function loadConversationAudience(
  conversationId: string,
): Promise<{ conversation: Conversation; members: UserDirectoryEntry[] }> {
  const conversation =
    (await getConversation(conversationId)) ?? (await getConversation(conversationId, { consistent: true }));
  if (conversation === undefined) {
    throw new PermanentFailure(`conversation ${conversationId} does not exist`);
  }
  return { conversation, members: await loadUsers(conversation.members) };
}

/**
 * A deactivated user receives nothing new: their connections are being closed and their devices may
 * be in someone else's hands.
 */
export const isReachable = (entry: UserDirectoryEntry): boolean => !entry.state.deactivated;
