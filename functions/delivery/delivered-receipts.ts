/**
 * Delivery receipts (`delivered` frames): when a recipient's connection takes messages of a
 * conversation, the senders of those messages learn it, with the highest `seq` delivered. The stream
 * handler collects what each message delivery reached and sends one frame per (conversation,
 * recipient) per batch, so a burst of 30 messages gives the sender one `delivered`, not 30.
 *
 * The receipt's state is kept forward-only on list entries (unread-store.ts): in a direct
 * conversation the sender's `peerDeliveredSeq`, in a group the recipient's `deliveredSeq`; the frames go
 * straight from the delivery Lambda that made that write: a second trip through the stream would cost
 * another read of the whole audience per message, past architecture.md's budget. A frame that cannot
 * be posted is logged and not retried: like typing, it only says earlier what `read` will say.
 */
import type { DeliveredFrame } from '../domain/frames.ts';
import type { Connection } from '../domain/model.ts';
import { logger } from '../shared/logger.ts';
import type { DeliveredNotice } from './delivery-report.ts';
import { sendToConnections } from './fanout.ts';

export class DeliveredReceipts {
  readonly #pending = new Map<string, { notice: DeliveredNotice; senders: Map<string, Connection> }>();

  add(notices: readonly DeliveredNotice[]): void {
    for (const notice of notices) {
      const key = JSON.stringify([notice.conversationId, notice.recipientId]);
      const entry = this.#pending.get(key) ?? { notice, senders: new Map<string, Connection>() };
      if (notice.seq > entry.notice.seq) entry.notice = notice;
      for (const connection of notice.senderConnections)
        entry.senders.set(connection.connectionId, connection);
      this.#pending.set(key, entry);
    }
  }

  /** Posts one frame per (conversation, recipient); never throws. Returns the frames posted. */
  async flush(now = new Date()): Promise<number> {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    let sent = 0;
    for (const { notice, senders } of pending) {
      const frame: DeliveredFrame = {
        type: 'delivered',
        conversationId: notice.conversationId,
        userId: notice.recipientId,
        seq: notice.seq,
        deliveredAt: now.toISOString(),
      };
      try {
        const result = await sendToConnections([...senders.values()], frame, { waitForConnecting: false });
        sent += result.sent;
        if (result.failures.length > 0) {
          logger.warn('delivered receipt not posted to every sender connection', {
            conversationId: notice.conversationId,
            recipientId: notice.recipientId,
            failed: result.failures.length,
          });
        }
      } catch (error) {
        logger.warn('delivered receipt not posted', { conversationId: notice.conversationId, error });
      }
    }
    return sent;
  }
}
