/** The push badge: a user's total unread count over all conversations. */
export interface UnreadEntry {
  conversationId: string;
  lastSeq: number;
  readSeq: number;
}

export const unreadCount = (entry: UnreadEntry): number => Math.max(0, entry.lastSeq - entry.readSeq);

/**
 * Sums the unread index entries, with `fresh` (the member item as the delivery's own update just
 * returned it) in place of its conversation's entry: the index is updated asynchronously and may not
 * show that update yet.
 */
export function badgeCount(entries: readonly UnreadEntry[], fresh: UnreadEntry | undefined): number {
  let total = fresh === undefined ? 0 : unreadCount(fresh);
  for (const entry of entries) {
    if (entry.conversationId !== fresh?.conversationId) total += unreadCount(entry);
  }
  return total;
}
