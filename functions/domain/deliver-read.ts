/**
 * Delivery of a moved read cursor (a member item MODIFY by markRead): the `read` frame to every
 * connection of every member, the reader's own included, so their other devices update unread counts.
 */
import { isReachable, loadAudience } from './audience.ts';
import { type FanoutResult, sendToConnections } from './fanout.ts';
import type { ReadFrame } from './frames.ts';

/** Throws on any failure but 410, so the record is retried (a `read` frame twice is harmless). */
export async function deliverRead(read: ReadFrame): Promise<Omit<FanoutResult, 'failures'>> {
  const audience = (await loadAudience(read.conversationId)).filter(isReachable);
  const result = await sendToConnections(
    audience.flatMap((entry) => entry.connections),
    read,
  );
  if (result.failures.length > 0) {
    throw new AggregateError(
      result.failures,
      `${result.failures.length} connection(s) could not be posted to`,
    );
  }
  return { sent: result.sent, gone: result.gone };
}
