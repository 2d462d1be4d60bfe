/**
 * Delivery of a moved read cursor (a member item MODIFY by markRead): the `read` frame to every
 * connection of every member, the reader's own included, so their other devices update unread counts.
 */

import { deliverToMembers } from './deliver-to-members.ts';
import type { DeliveryReport } from './delivery-report.ts';
import type { ReadFrame } from './frames.ts';

export const deliverRead = (
  read: ReadFrame,
  options: { onlyTo?: readonly string[] } = {},
): Promise<DeliveryReport> => deliverToMembers(read.conversationId, read, options);
