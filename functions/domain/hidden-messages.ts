/**
 * A message from a user the reader blocks (protocol.md 1.2): still stored and delivered to everyone
 * else, and shown to the blocker as `hidden: true` with `content: ""` and no attachments, in live
 * frames, `sync` pages and the list's `lastMessage` alike. Hidden by who blocks whom when it is read,
 * so that unblocking shows them again.
 */
import { SYSTEM_SENDER } from '../../definitions/server-api.ts';
import { readBlocks } from '../adapters/block-store.ts';
import { DIRECT_ID_PREFIX } from './identifiers.ts';
import type { MemberCursor, StoredMessage } from './model.ts';

/** The message as a member who blocks its sender sees it. */
export function hiddenMessage(message: StoredMessage): StoredMessage {
  const { attachments: _attachments, ...kept } = message;
  return { ...kept, content: '', hidden: true };
}

/**
 * In a direct conversation: from the other user, not the reader and not the app's backend (whose
 * notices, `system`, no block hides).
 */
export const fromPeer = (message: StoredMessage, readerId: string): boolean =>
  message.senderId !== readerId && message.senderId !== SYSTEM_SENDER;

/** `message` as `blocks` (the reader's) lets them see it. */
export const asSeenWith = (blocks: ReadonlySet<string>, message: StoredMessage): StoredMessage =>
  blocks.has(message.senderId) ? hiddenMessage(message) : message;

/**
 * How a member sees a conversation's messages in `sync`, from their member item (`cursor`, read for
 * membership): in a direct conversation it says whether they block the other user; in a group their
 * blocks are read, strongly consistently, so that a block just acked hides at once.
 */
export async function viewerOf(cursor: MemberCursor): Promise<(message: StoredMessage) => StoredMessage> {
  if (cursor.conversationId.startsWith(DIRECT_ID_PREFIX)) {
    return cursor.blocking === true
      ? (message) => (fromPeer(message, cursor.userId) ? hiddenMessage(message) : message)
      : (message) => message;
  }
  const blocks = await readBlocks(cursor.userId);
  return (message) => asSeenWith(blocks, message);
}
