/**
 * A frame for every connection of every member of a conversation, the one who caused it included: how
 * `read` and `messageUpdated` are delivered. Deactivated members get nothing; per-user caps are
 * respected, not enforced (message delivery enforces and cleans them up). Failures are reported,
 * never thrown: these frames twice are harmless.
 */
import { isReachable, loadAudience } from './audience.ts';
import { type DeliveryReport, reportOf } from './delivery-report.ts';
import { sendToConnections } from './fanout.ts';
import { capUser } from './fanout-caps.ts';
import type { ServerFrame } from './frames.ts';

export async function deliverToMembers(
  conversationId: string,
  frame: ServerFrame,
  options: { onlyTo?: readonly string[] } = {},
): Promise<DeliveryReport> {
  const audience = (await loadAudience(conversationId))
    .filter(isReachable)
    .filter((entry) => options.onlyTo === undefined || options.onlyTo.includes(entry.userId))
    .map((entry) => capUser(entry).entry);
  const fanout = await sendToConnections(
    audience.flatMap((entry) => entry.connections),
    frame,
    { waitForConnecting: true },
  );
  return reportOf(fanout);
}
