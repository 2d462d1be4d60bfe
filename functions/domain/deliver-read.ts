/**
 * Delivery of a moved read cursor (a member item MODIFY by markRead): the `read` frame to every
 * connection of every member, the reader's own included, so their other devices update unread counts.
 */
import { isReachable, loadAudience } from './audience.ts';
import { type DeliveryReport, reportOf } from './delivery-report.ts';
import { sendToConnections } from './fanout.ts';
import { capUser } from './fanout-caps.ts';
import type { ReadFrame } from './frames.ts';

/** Like message delivery, reports failures rather than throwing (a `read` frame twice is harmless). */
export async function deliverRead(
  read: ReadFrame,
  options: { onlyTo?: readonly string[] } = {},
): Promise<DeliveryReport> {
  const audience = (await loadAudience(read.conversationId))
    .filter(isReachable)
    .filter((entry) => options.onlyTo === undefined || options.onlyTo.includes(entry.userId))
    // Caps are enforced (and cleaned up) by message delivery; reads only respect them.
    .map((entry) => capUser(entry).entry);
  const fanout = await sendToConnections(
    audience.flatMap((entry) => entry.connections),
    read,
    { waitForConnecting: true },
  );
  return reportOf(fanout);
}
