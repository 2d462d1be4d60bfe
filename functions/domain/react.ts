import { setReaction } from '../adapters/message-changes.ts';
import { resolveExisting } from './conversations.ts';
import type { ActionAckFrame } from './frames.ts';
import { refusalError } from './message-refusals.ts';
import type { Caller } from './model.ts';
import { MAX_EMOJI_PER_MESSAGE, MAX_REACTIONS_PER_USER, requireEmoji } from './reaction-rules.ts';

export interface ReactInput {
  caller: Caller;
  conversationId: string;
  seq: number;
  emoji: string;
  on: boolean;
}

/**
 * Adds (`on`) or removes the caller's reaction with one emoji; repeating either changes nothing.
 * Removing a reaction from a deleted message is a no-op success (it has none); adding one is refused.
 */
export async function react(input: ReactInput): Promise<ActionAckFrame> {
  const emoji = requireEmoji(input.emoji);
  await resolveExisting({ conversationId: input.conversationId }, input.caller.userId);
  const result = await setReaction(input.conversationId, input.seq, input.caller.userId, emoji, input.on, {
    emojiPerMessage: MAX_EMOJI_PER_MESSAGE,
    reactionsPerUser: MAX_REACTIONS_PER_USER,
  });
  if (!result.done) throw refusalError(result.refusal, input.seq);
  return { type: 'ack', action: 'react' };
}
