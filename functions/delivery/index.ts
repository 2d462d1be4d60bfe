/**
 * Delivery of what the table stores (architecture.md: what is stored is delivered by the stream). The
 * stream handler (functions/stream/delivery.ts) reads each record into one of these events, hands it
 * to deliverStored, and retries or records it by the report; presence and closes it handles itself.
 */
import type { MessageUpdatedFrame, ReadFrame } from '../domain/frames.ts';
import type { Conversation, StoredMessage } from '../domain/model.ts';
import { loadConversationAudience } from './audience.ts';
import { deliverConversation } from './deliver-conversation.ts';
import { deliverLeft } from './deliver-left.ts';
import { deliverMessage } from './deliver-message.ts';
import { deliverToMembers } from './deliver-to-members.ts';
import type { DeliveryReport } from './delivery-report.ts';
import { recordMessageChange, recordPeerRead } from './list-entry-updates.ts';

export type StoredEvent =
  | { kind: 'message'; message: StoredMessage; senderName: string | undefined }
  | { kind: 'read'; read: ReadFrame }
  /** An edit, a deletion or a reaction: the message item's new image, as the members are to see it. */
  | { kind: 'messageUpdated'; update: MessageUpdatedFrame; message: StoredMessage }
  | {
      kind: 'conversation';
      conversation: Conversation;
      /** The connection that created a group (it got the frame as its answer); none for direct ones. */
      originConnectionId: string | undefined;
    }
  /**
   * A member left (leaveConversation): their group member item was removed, or their direct member item
   * marked hidden. Every connection of theirs gets `left`.
   */
  | { kind: 'left'; conversationId: string; userId: string };

export function deliverStored(event: StoredEvent): Promise<DeliveryReport> {
  switch (event.kind) {
    case 'message':
      return deliverMessage(event.message, event.senderName);
    case 'read':
      // A moved read cursor (markRead): the reader's own connections too, so their other devices
      // update unread counts. In a direct conversation the other user's list entry shows it.
      return deliverToEveryMember(event.read.conversationId, event.read, (conversation) =>
        recordPeerRead(conversation, event.read),
      );
    case 'messageUpdated':
      // The message's whole current state: the changer's own connections too (their other devices show
      // it). No push (protocol.md), and unread counts do not move.
      return deliverToEveryMember(event.update.conversationId, event.update, (conversation) =>
        recordMessageChange(conversation.members, event.message),
      );
    case 'conversation':
      return deliverConversation(event.conversation, event.originConnectionId);
    case 'left':
      return deliverLeft(event);
  }
}

/**
 * A frame for every connection of every member, the one who caused it included. Per-user caps are
 * respected, not enforced (message delivery enforces them); connections inside `$connect` are waited
 * for; failures are reported, never thrown: these frames twice are harmless.
 */
async function deliverToEveryMember(
  conversationId: string,
  frame: ReadFrame | MessageUpdatedFrame,
  recordInLists: (conversation: Conversation) => Promise<void>,
): Promise<DeliveryReport> {
  const audience = await loadConversationAudience(conversationId);
  // The list entries first: a client that connects while this runs and misses the frame reads the
  // change from its list instead.
  await recordInLists(audience.conversation);
  const { report } = await deliverToMembers({ audience: audience.members, frame, waitForConnecting: true });
  return report;
}
