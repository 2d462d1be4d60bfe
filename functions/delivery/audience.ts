/** Who a conversation's stored events go to: its members, with their connections, devices and state. */
import { PermanentFailure } from '../adapters/aws-errors.ts';
import { getConversation } from '../adapters/conversation-store.ts';
import { listMemberCursors } from '../adapters/member-store.ts';
import { loadUsers, type UserDirectoryEntry } from '../adapters/user-directory.ts';
import { DIRECT_ID_PREFIX } from '../domain/identifiers.ts';
import type { Conversation, MemberCursor } from '../domain/model.ts';

export interface AudienceOptions {
  /**
   * For a message: its `seq`. A member who hid a direct conversation up to that seq or beyond
   * (leaveConversation) does not get it; a later message reaches them (and un-hides it). Without it,
   * hidden means hidden as the conversation now stands.
   */
  readonly seq?: number;
}

/**
 * Leaving is immediate (protocol.md 1.2): once `leaveConversation` is acked, nothing of the
 * conversation reaches the leaver. So delivery decides a group's audience with a strongly consistent
 * read of its item: an eventually consistent one could still list a member who left a second ago (and
 * the stream's own image is older still). A direct conversation never changes membership and may come
 * from the container's memory (known-conversations.ts), but who hid it is read strongly consistently
 * from its two member items (1 RRU). The choice between the two is made on the id alone. A
 * conversation that is really not there cannot be delivered by any retry: a permanent failure.
 */
export async function loadAudience(
  conversationId: string,
  options: AudienceOptions = {},
): Promise<UserDirectoryEntry[]> {
  return (await loadConversationAudience(conversationId, options)).members;
}

/** loadAudience, with the conversation item it read (its kind and title name a group in push titles). */
export async function loadConversationAudience(
  conversationId: string,
  options: AudienceOptions = {},
): Promise<ConversationAudience> {
  const conversation = await currentConversation(conversationId);
  if (conversation.kind !== 'direct') {
    return { conversation, members: await loadUsers(conversation.members), cursors: [] };
  }
  const cursors = await listMemberCursors(conversationId);
  const hidden = hiddenAt(cursors, options.seq);
  return {
    conversation,
    members: await loadUsers(conversation.members.filter((member) => !hidden.has(member))),
    cursors,
  };
}

export interface ConversationAudience {
  conversation: Conversation;
  members: UserDirectoryEntry[];
  /**
   * A direct conversation's two member items, read strongly consistently (who hid it, who blocks whom:
   * blocks-between.ts); empty for a group.
   */
  cursors: MemberCursor[];
}

/**
 * The conversation as it stands now: a group read strongly consistently, a direct one from memory or
 * read (again strongly consistently on a miss, right after the transaction that created it).
 */
export async function currentConversation(conversationId: string): Promise<Conversation> {
  const conversation = conversationId.startsWith(DIRECT_ID_PREFIX)
    ? ((await getConversation(conversationId)) ??
      (await getConversation(conversationId, { consistent: true })))
    : await getConversation(conversationId, { consistent: true });
  if (conversation === undefined) {
    throw new PermanentFailure(`conversation ${conversationId} does not exist`);
  }
  return conversation;
}

/**
 * The members of a direct conversation who hid it (leaveConversation) as of `seq`, or as it now
 * stands: up to the newest seq any member was sent or read. A message after the mark un-hides it (the
 * delivery of that message moves `lastSeq` first, in stream order), so a hider is hidden exactly while
 * nothing newer than their mark has reached the conversation.
 */
export async function hiddenMembers(conversationId: string, seq?: number): Promise<Set<string>> {
  return hiddenAt(await listMemberCursors(conversationId), seq);
}

/** hiddenMembers, from member items read already. */
export function hiddenAt(cursors: readonly MemberCursor[], seq?: number): Set<string> {
  const reference = seq ?? Math.max(0, ...cursors.flatMap((cursor) => [cursor.lastSeq, cursor.readSeq]));
  return new Set(cursors.filter((cursor) => isHiddenAt(cursor, reference)).map((cursor) => cursor.userId));
}

const isHiddenAt = (cursor: MemberCursor, seq: number): boolean =>
  cursor.hiddenUntilSeq !== undefined && cursor.hiddenUntilSeq >= seq;

/**
 * A deactivated user receives nothing new: their connections are being closed and their devices may
 * be in someone else's hands.
 */
export const isReachable = (entry: UserDirectoryEntry): boolean => !entry.state.deactivated;
