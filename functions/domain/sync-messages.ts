/**
 * `sync` of one conversation: the messages after `afterSeq`, ascending, at most `limit`, in a frame that
 * stays under API Gateway's 128 KiB message limit however large the messages are (the page shrinks
 * and says `hasMore`; it never fails). Pages are gapless and repeat-free by construction: `seq`s are
 * committed in order (message-store.ts), the read is strongly consistent, and the next page starts
 * after the last `seq` this one returned.
 */
import { readMessagesAfter } from '../adapters/message-history.ts';
import { messageViewOf } from './attachments.ts';
import { byteLength, MAX_FRAME_BYTES } from './frame-size.ts';
import type { MessagesFrame } from './frames.ts';
import { type MessageReader, viewFor } from './message-readers.ts';

/** The first read of a page: small, so that a page of very large messages does not read (and bill) many more than it can hold. */
const FIRST_READ = 10;

export interface SyncMessagesInput {
  /** A member (their blocks hide messages), or the app's backend. */
  caller: MessageReader;
  conversationId: string;
  afterSeq: number;
  limit: number;
}

export async function syncMessages(input: SyncMessagesInput): Promise<MessagesFrame> {
  const { conversationId, afterSeq, limit } = input;
  // Members only, with the same answer for someone else's conversation and one that does not exist.
  const seen = await viewFor(conversationId, input.caller);
  const frame: MessagesFrame = { type: 'messages', conversationId, messages: [], hasMore: false };
  let bytes = byteLength({ ...frame, hasMore: true });
  let viewBytesRead = 0;
  let read = 0;
  let startKey: Record<string, unknown> | undefined;
  let chunk = Math.min(limit + 1, FIRST_READ);
  for (;;) {
    const { messages, next } = await readMessagesAfter(conversationId, afterSeq, chunk, startKey);
    for (const message of messages) {
      const view = await messageViewOf(seen(message));
      // +1 for the comma between array elements.
      const size = byteLength(view) + 1;
      read += 1;
      viewBytesRead += size;
      if (frame.messages.length === limit || bytes + size > MAX_FRAME_BYTES) {
        frame.hasMore = true;
        return frame;
      }
      frame.messages.push(view);
      bytes += size;
    }
    if (next === undefined) return frame;
    startKey = next;
    // Read about as many as the remaining room holds at the average size so far, plus one to learn
    // whether there are more; never more than the page still needs.
    const average = viewBytesRead / Math.max(1, read);
    const fits = Math.floor((MAX_FRAME_BYTES - bytes) / Math.max(1, average));
    chunk = Math.max(1, Math.min(limit - frame.messages.length + 1, fits + 1));
  }
}
