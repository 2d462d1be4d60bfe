/**
 * Delivery of an accepted message request (protocol.md 1.2, "Who may talk to whom"): accepting gives
 * consent, so the two users learn each other's presence now, as when the second of them first writes
 * (deliver-message.ts). What is stored is delivered by the stream (architecture.md): the acceptRequest
 * handler posts nothing itself.
 */
import { loadConversationAudience } from './audience.ts';
import { blocksAround } from './blocks-between.ts';
import { type DeliveryReport, reportOf } from './delivery-report.ts';
import { introducePresence } from './introduce-presence.ts';

export interface Accept {
  conversationId: string;
  /** Who accepted. */
  userId: string;
}

/**
 * Decided on the two member items as they are now, read strongly consistently: a block made since the
 * accept, or a retry or redrive after one, introduces nobody (architecture.md guarantee 12).
 */
export async function deliverAccepted(accept: Accept): Promise<DeliveryReport> {
  const audience = await loadConversationAudience(accept.conversationId);
  const { cutOff } = await blocksAround(audience, accept.userId);
  if (audience.conversation.kind !== 'direct' || cutOff.size > 0) {
    return reportOf({ sent: 0, gone: 0, connecting: [], failures: [] });
  }
  return introducePresence(audience.conversation, audience.members);
}
