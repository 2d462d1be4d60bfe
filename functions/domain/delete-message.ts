import { clearTombstone, markDeleted } from '../adapters/message-changes.ts';
import { deleteAttachment } from '../shared/clients/s3.ts';
import { resolveExisting } from './conversations.ts';
import type { MessageChangeAckFrame } from './frames.ts';
import { refusalError } from './message-refusals.ts';
import type { Caller } from './model.ts';

export interface DeleteMessageInput {
  caller: Caller;
  conversationId: string;
  seq: number;
  now: Date;
}

/**
 * Deletes the caller's own message, leaving a tombstone in its `seq` (so `sync` stays gapless): first
 * the mark (content emptied, nothing can change it after), then its attachments' objects in the bucket,
 * then what the item still held. The item lists the attachments until their objects are gone, so
 * deleting again is answered like the first time and finishes whatever the first attempt left.
 */
export async function deleteMessage(input: DeleteMessageInput): Promise<MessageChangeAckFrame> {
  const { conversationId, seq } = input;
  await resolveExisting({ conversationId }, input.caller.userId);
  const result = await markDeleted(conversationId, seq, input.caller.userId, input.now.toISOString());
  if (!result.done) throw refusalError(result.refusal, seq);
  await Promise.all(result.leftovers.attachments.map((attachment) => deleteAttachment(attachment.key)));
  await clearTombstone(conversationId, seq, result.leftovers);
  return { type: 'ack', action: 'deleteMessage', seq };
}
