/**
 * Delivery of a changed message (a stream MODIFY of its item: an edit, a deletion, a reaction): the
 * `messageUpdated` frame, the message's whole current state, to every connection of every member, the
 * changer's own included (their other devices show it too). No push (protocol.md), and unread counts
 * do not move.
 */

import { deliverToMembers } from './deliver-to-members.ts';
import type { DeliveryReport } from './delivery-report.ts';
import type { MessageUpdatedFrame } from './frames.ts';

export const deliverMessageUpdate = (update: MessageUpdatedFrame): Promise<DeliveryReport> =>
  deliverToMembers(update.conversationId, update);
