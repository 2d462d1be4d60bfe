/**
 * `leaveConversation` (protocol.md 1.1). Both kinds start like every conversation-scoped action: the
 * caller's member item decides membership, and a non-member gets the one shared refusal, after the same
 * read, whether or not the conversation exists (membership.ts).
 *
 * - A group: the caller stops being a member (functions/adapters/membership-changes.ts). The stored
 *   change of the conversation item reaches the remaining members as a `conversation` frame with the
 *   new `members` through the stream; the leaver is no longer in the list, so they get nothing more, and
 *   every later action of theirs in it is refused. Leaving again is refused too: they are no member.
 *   A group whose last member left keeps its messages: no TTL and no retention job removes them yet.
 * - A direct conversation: nothing about the conversation or its membership changes (its item is cached
 *   forever in warm containers, known-conversations.ts). The caller's member item is marked hidden up to
 *   the conversation's last seq; their conversation list skips it until a later message, from either of
 *   the two, arrives (conversation-list.ts). Messages keep arriving as before. Leaving again is an ack.
 */
import { getConversation } from '../adapters/conversation-store.ts';
import { readUpTo } from '../adapters/member-store.ts';
import { hideUntilSeq, removeGroupMember } from '../adapters/membership-changes.ts';
import { lastSeq } from '../adapters/message-store.ts';
import type { ActionAckFrame } from './frames.ts';
import { notAMember, requireMemberCursor } from './membership.ts';
import type { Caller } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface LeaveConversationInput {
  caller: Caller;
  conversationId: string;
  now: Date;
}

const ACK: ActionAckFrame = { type: 'ack', action: 'leaveConversation' };

export async function leaveConversation(input: LeaveConversationInput): Promise<ActionAckFrame> {
  const { caller, conversationId } = input;
  const { userId } = caller;
  await requireWithinRate(userId, 'leaveConversation', input.now);
  await requireMemberCursor(conversationId, userId);
  // Strongly consistent for a group: the removal is conditional on the list as read. A direct one is
  // answered from the container's memory when it is there (it never changes).
  const conversation = await getConversation(conversationId, { consistent: true, caller: userId });
  if (conversation === undefined || !conversation.members.includes(userId)) throw notAMember();
  if (conversation.kind === 'direct') {
    const seq = await lastSeq(conversationId);
    // Hiding reads it (protocol.md 1.2): its unread leaves every later badge. The read first, so that
    // the hide is the item's last change (`changedBy: 'leave'`, what delivery turns into `left`).
    await readUpTo(conversationId, userId, seq, input.now.toISOString());
    if (!(await hideUntilSeq(conversationId, userId, seq))) throw notAMember();
    return ACK;
  }
  const leave = await removeGroupMember(
    conversationId,
    userId,
    conversation.members,
    input.now.toISOString(),
  );
  if (!leave.left) throw notAMember();
  return ACK;
}
