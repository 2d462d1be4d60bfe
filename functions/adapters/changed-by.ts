/**
 * `changedBy` markers: which write last changed a conversation or member item. The stream filter
 * (definitions/stream.ts) and the record parser (functions/stream/records.ts) tell changes apart by
 * them. Plain constants, so that importing them sets up no AWS client.
 */

/** A leave: a group's members list, or the leaver's member item (hidden or removed). */
export const LEFT_BY = 'leave';

/** A conversation item whose only change is its version count (functions/adapters/versioned-change.ts). */
export const VERSION_CHANGED_BY = 'message-change';

/**
 * A read cursor moved by sending or by hiding a conversation (protocol.md 1.2): no `read` frame goes
 * out (the stream filter passes only `read`); the user's other connections learn it from the `message`
 * frame of their own message, or drop the conversation on `left`.
 */
export const IMPLICIT_READ_BY = 'implicit-read';

/** Delivery's own writes to member items (unread bookkeeping, list entries): the filter passes none. */
export const DELIVERY_BY = 'delivery';

/**
 * (1.2) A block or unblock marking a direct conversation's member items (block-store.ts): the blocker's
 * entry moves (it shows `blocked`), the filter passes none.
 */
export const BLOCK_BY = 'block';

/**
 * (1.2) A message request accepted (functions/adapters/request-store.ts): the acceptor's member item,
 * which the filter passes so that delivery introduces the two users' presence to each other.
 */
export const ACCEPT_BY = 'accept';

/** (1.2) The other member item of an accepted request (its `peerSent`): the filter passes none. */
export const PEER_ACCEPT_BY = 'peer-accept';
