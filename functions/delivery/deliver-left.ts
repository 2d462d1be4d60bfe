/**
 * Delivery of a leave (protocol.md 1.2, "Leaving is immediate"): the leave's own stored change (the
 * group member item's REMOVE, or the hidden mark on a direct conversation's member item) reaches every
 * connection of the leaver as `left`, so their other devices drop the conversation. What is stored is
 * delivered by the stream (architecture.md): the leaveConversation handler posts nothing itself.
 */
import { getConversation } from '../adapters/conversation-store.ts';
import { loadUser } from '../adapters/user-directory.ts';
import type { LeftFrame } from '../domain/frames.ts';
import { DIRECT_ID_PREFIX } from '../domain/identifiers.ts';
import { hiddenMembers } from './audience.ts';
import { deliverToMembers } from './deliver-to-members.ts';
import { type DeliveryReport, reportOf } from './delivery-report.ts';

export interface Leave {
  conversationId: string;
  userId: string;
}

/**
 * Sent only while the user is still out, read strongly consistently: a group that no longer lists
 * them, a direct conversation still hidden for them (a record retried or redriven after a later
 * message un-hid it would otherwise drop a conversation that is back). Like reads, failures are
 * reported rather than thrown (a `left` twice is harmless), connections still inside `$connect` are
 * waited for, per-user caps are respected, and nothing is pushed. A deactivated leaver gets nothing.
 */
export async function deliverLeft(leave: Leave): Promise<DeliveryReport> {
  if (!(await isOut(leave))) return reportOf({ sent: 0, gone: 0, connecting: [], failures: [] });
  const frame: LeftFrame = { type: 'left', conversationId: leave.conversationId };
  const { report } = await deliverToMembers({
    audience: [await loadUser(leave.userId)],
    frame,
    waitForConnecting: true,
  });
  return report;
}

async function isOut({ conversationId, userId }: Leave): Promise<boolean> {
  if (conversationId.startsWith(DIRECT_ID_PREFIX)) return (await hiddenMembers(conversationId)).has(userId);
  const conversation = await getConversation(conversationId, { consistent: true });
  return conversation === undefined || !conversation.members.includes(userId);
}
