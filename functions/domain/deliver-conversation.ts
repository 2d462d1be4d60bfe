/**
 * Delivery of a new conversation (a stream INSERT of its `META` item): the `conversation` frame to every
 * connection of every member, but the connection that created a group (it had the frame as its
 * answer). A direct conversation, created by its first message, has no such connection: both users'
 * connections get it, just before that message (same partition, so the stream keeps them in order).
 */
import { isReachable, loadConversationAudience } from './audience.ts';
import { toConversationFrame } from './conversation-frame.ts';
import { type DeliveryReport, reportOf } from './delivery-report.ts';
import { sendToConnections } from './fanout.ts';
import { capUser } from './fanout-caps.ts';
import type { Conversation } from './model.ts';

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
  options: { onlyTo?: readonly string[]; now?: Date } = {},
): Promise<DeliveryReport> {
  const current = await loadConversationAudience(conversation.conversationId);
  const audience = current.members
    .filter((entry) => options.onlyTo === undefined || options.onlyTo.includes(entry.userId))
    .filter(isReachable)
    .map((entry) => capUser(entry).entry);
  const fanout = await sendToConnections(
    audience
      .flatMap((entry) => entry.connections)
      .filter((connection) => connection.connectionId !== originConnectionId),
    toConversationFrame(current.conversation),
    { waitForConnecting: true, ...(options.now !== undefined && { now: options.now.getTime() }) },
  );
  return reportOf(fanout);
}
