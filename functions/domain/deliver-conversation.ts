/**
 * Delivery of a new conversation (a stream INSERT of its `META` item): the `conversation` frame to every
 * connection of every member, but the connection that created a group (it had the frame as its
 * answer). A direct conversation, created by its first message, has no such connection: both users'
 * connections get it, just before that message (same partition, so the stream keeps them in order).
 */
import { loadUsers } from '../adapters/user-directory.ts';
import { isReachable } from './audience.ts';
import { toConversationFrame } from './conversation-frame.ts';
import { type DeliveryReport, reportOf } from './delivery-report.ts';
import { sendToConnections } from './fanout.ts';
import { capUser } from './fanout-caps.ts';
import type { Conversation } from './model.ts';

/**
 * The members come from the record's own image: the conversation as created, without reading it again.
 * Like reads, it reports failures rather than throwing (a frame twice is harmless), respects the per-user
 * caps without enforcing them, and pushes nothing: protocol.md pushes messages only. Deactivated
 * members receive nothing.
 */
export async function deliverConversation(
  conversation: Conversation,
  originConnectionId: string | undefined,
  options: { onlyTo?: readonly string[]; now?: Date } = {},
): Promise<DeliveryReport> {
  const members =
    options.onlyTo === undefined
      ? conversation.members
      : conversation.members.filter((member) => options.onlyTo?.includes(member));
  const audience = (await loadUsers(members)).filter(isReachable).map((entry) => capUser(entry).entry);
  const fanout = await sendToConnections(
    audience
      .flatMap((entry) => entry.connections)
      .filter((connection) => connection.connectionId !== originConnectionId),
    toConversationFrame(conversation),
    { waitForConnecting: true, ...(options.now !== undefined && { now: options.now.getTime() }) },
  );
  return reportOf(fanout);
}
