/**
 * Delivery of what the table stores (architecture.md: what is stored is delivered by the stream). The
 * stream handler (functions/stream/delivery.ts) reads each record into one of these events, hands it
 * to deliverStored, and retries or records it by the report; presence and closes it handles itself.
 */
import {
  type MessageUpdatedFrame,
  type ReadFrame,
  type ServerFrame,
  toMessageUpdatedFrame,
} from '../domain/frames.ts';
import { hiddenMessage } from '../domain/hidden-messages.ts';
import type { Conversation, StoredMessage } from '../domain/model.ts';
import { type ConversationAudience, loadConversationAudience } from './audience.ts';
import { type BlocksAround, blocksAround } from './blocks-between.ts';
import { deliverAccepted } from './deliver-accepted.ts';
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
  | { kind: 'left'; conversationId: string; userId: string }
  /** (1.2) A message request accepted (acceptRequest): the two users learn each other's presence. */
  | { kind: 'accepted'; conversationId: string; userId: string };

export function deliverStored(event: StoredEvent): Promise<DeliveryReport> {
  switch (event.kind) {
    case 'message':
      return deliverMessage(event.message, event.senderName);
    case 'read':
      // A moved read cursor (markRead): the reader's own connections too, so their other devices
      // update unread counts. In a direct conversation the other user's list entry shows it. Nobody
      // cut off from the reader by a block learns it (protocol.md 1.2).
      return deliverToEveryMember(event.read.conversationId, event.read.userId, async (audience, around) => {
        if (around.cutOff.size === 0) await recordPeerRead(audience.conversation, event.read);
        return { frame: event.read, skip: around.cutOff };
      });
    case 'messageUpdated':
      // The message's whole current state: the changer's own connections too (their other devices show
      // it). No push (protocol.md), and unread counts do not move. Whoever blocks its sender sees it
      // hidden, as they saw the message.
      return deliverToEveryMember(
        event.update.conversationId,
        event.message.senderId,
        async (audience, around) => {
          const { blockers } = around;
          const hidden = blockers.size > 0 ? hiddenMessage(event.message) : event.message;
          await recordMessageChange(audience.conversation.members, (userId) =>
            blockers.has(userId) ? hidden : event.message,
          );
          const hiddenFrame = toMessageUpdatedFrame(hidden);
          return {
            frame: (userId: string) => (blockers.has(userId) ? hiddenFrame : event.update),
            skip: new Set<string>(),
          };
        },
      );
    case 'conversation':
      return deliverConversation(event.conversation, event.originConnectionId);
    case 'left':
      return deliverLeft(event);
    case 'accepted':
      return deliverAccepted(event);
  }
}

/**
 * A frame for every connection of every member, the one who caused it included. Per-user caps are
 * respected, not enforced (message delivery enforces them); connections inside `$connect` are waited
 * for; failures are reported, never thrown: these frames twice are harmless.
 */
async function deliverToEveryMember(
  conversationId: string,
  /** Whose change it is: blocks are counted from them (blocks-between.ts). */
  userId: string,
  /** Records the change in the list entries, and says what each member gets and who gets nothing. */
  prepare: (
    audience: ConversationAudience,
    around: BlocksAround,
  ) => Promise<{ frame: ServerFrame | ((userId: string) => ServerFrame); skip: ReadonlySet<string> }>,
): Promise<DeliveryReport> {
  const audience = await loadConversationAudience(conversationId);
  // The list entries first: a client that connects while this runs and misses the frame reads the
  // change from its list instead.
  const { frame, skip } = await prepare(audience, await blocksAround(audience, userId));
  const { report } = await deliverToMembers({
    audience: audience.members.filter((entry) => !skip.has(entry.userId)),
    frame,
    waitForConnecting: true,
  });
  return report;
}
