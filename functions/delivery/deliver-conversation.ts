/**
 * Delivery of a new conversation (a stream INSERT of its `META` item): the `conversation` frame to every
 * connection of every member, but the connection that created a group (it had the frame as its
 * answer). A direct conversation, created by its first message, has no such connection: both users'
 * connections get it, just before that message (same partition, so the stream keeps them in order).
 */

import { hasConsent } from '../adapters/list-entries.ts';
import { toConversationFrame } from '../domain/frames.ts';
import type { Conversation } from '../domain/model.ts';
import { loadConversationAudience } from './audience.ts';
import { blocksAround } from './blocks-between.ts';
import { deliverToMembers } from './deliver-to-members.ts';
import type { DeliveryReport } from './delivery-report.ts';
import { introducePresence } from './introduce-presence.ts';
import { recordMembership } from './list-entry-updates.ts';

/**
 * The frame carries the conversation as it is now, read at delivery (strongly consistently for a
 * group, audience.ts), never the record's image: a creation or a leave delivered late (a retry, a
 * replay, a redrive) after another member left must neither reach that member nor list them. Like
 * reads, it reports failures rather than throwing (a frame twice is harmless), respects the per-user
 * caps without enforcing them, and pushes nothing: protocol.md pushes messages only. Deactivated
 * members receive nothing.
 */
export async function deliverConversation(
  conversation: Pick<Conversation, 'conversationId'>,
  originConnectionId: string | undefined,
): Promise<DeliveryReport> {
  const current = await loadConversationAudience(conversation.conversationId);
  // After a leave, the remaining members' list entries show who is left (before the frames: a client
  // that connects meanwhile reads it from its list).
  await recordMembership(current.conversation);
  const { report } = await deliverToMembers({
    audience: current.members,
    frame: toConversationFrame(current.conversation),
    skipConnectionId: originConnectionId,
    waitForConnecting: true,
  });
  // (1.2) A direct conversation the app's backend made is accepted for both from the start
  // (integration.md): each learns the other's presence now, as when consent comes later.
  const [first] = current.conversation.members;
  if (
    current.conversation.kind === 'direct' &&
    first !== undefined &&
    current.cursors.length === 2 &&
    current.cursors.every(hasConsent) &&
    (await blocksAround(current, first)).cutOff.size === 0
  ) {
    const introduced = await introducePresence(current.conversation, current.members);
    return {
      ...report,
      sent: report.sent + introduced.sent,
      gone: report.gone + introduced.gone,
      connecting: [...report.connecting, ...introduced.connecting],
      failures: [...report.failures, ...introduced.failures],
    };
  }
  return report;
}
