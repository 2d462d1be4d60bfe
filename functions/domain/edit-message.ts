import { editContent } from '../adapters/message-changes.ts';
import { normalizeContent } from './content.ts';
import { resolveExisting } from './conversations.ts';
import type { MessageChangeAckFrame } from './frames.ts';
import { refusalError } from './message-refusals.ts';
import type { Caller } from './model.ts';

export interface EditMessageInput {
  caller: Caller;
  conversationId: string;
  seq: number;
  content: string;
  now: Date;
}

/**
 * Replaces the content of the caller's own message (the content rules of sendMessage). One
 * conditional update: the sender matches and the message is not deleted, so an edit racing a delete
 * can never bring the message back. The members learn of it from the stream (`messageUpdated`); no push.
 */
export async function editMessage(input: EditMessageInput): Promise<MessageChangeAckFrame> {
  const content = normalizeContent(input.content);
  // Members only, with the one answer for someone else's conversation and one that does not exist.
  await resolveExisting({ conversationId: input.conversationId }, input.caller.userId);
  const result = await editContent(
    input.conversationId,
    input.seq,
    input.caller.userId,
    content,
    input.now.toISOString(),
  );
  if (!result.done) throw refusalError(result.refusal, input.seq);
  return { type: 'ack', action: 'editMessage', seq: input.seq };
}
