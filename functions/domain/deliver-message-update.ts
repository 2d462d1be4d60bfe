/**
 * Delivery of a changed message (a stream MODIFY of its item: an edit, a deletion, a reaction): the
 * `messageUpdated` frame, the message's whole current state, to every connection of every member, the
 * changer's own included (their other devices show it too). No push (protocol.md), and unread counts
 * do not move. A frame twice is harmless, so failures are reported like reads', never thrown.
 */
import { isReachable, loadAudience } from './audience.ts';
import { type DeliveryReport, reportOf } from './delivery-report.ts';
import { sendToConnections } from './fanout.ts';
import { capUser } from './fanout-caps.ts';
import type { MessageUpdatedFrame } from './frames.ts';

export async function deliverMessageUpdate(
  update: MessageUpdatedFrame,
  options: { onlyTo?: readonly string[] } = {},
): Promise<DeliveryReport> {
  const audience = (await loadAudience(update.conversationId))
    .filter(isReachable)
    .filter((entry) => options.onlyTo === undefined || options.onlyTo.includes(entry.userId))
    .map((entry) => capUser(entry).entry);
  const fanout = await sendToConnections(
    audience.flatMap((entry) => entry.connections),
    update,
    { waitForConnecting: true },
  );
  return reportOf(fanout);
}
