import { advanceReadCursor } from '../adapters/member-store.ts';
import { lastSeq } from '../adapters/message-store.ts';
import { BadRequestError } from './errors.ts';
import type { ReadFrame } from './frames.ts';
import { requireMemberCursor } from './membership.ts';
import type { Caller } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface MarkReadInput {
  caller: Caller;
  conversationId: string;
  seq: number;
  now: Date;
}

/**
 * Moves the caller's read cursor forward. When it moves, the stored change reaches every member's
 * connections (the caller's included) through the stream, so nothing is returned here; when it does
 * not (already read that far), the caller still gets the `read` frame with the cursor as it stands.
 */
export async function markRead(input: MarkReadInput): Promise<ReadFrame | undefined> {
  const { caller, conversationId, seq } = input;
  await requireWithinRate(caller.userId, 'markRead', input.now);
  // Membership first: a non-member must not learn the conversation's last seq from the refusal below.
  const member = await requireMemberCursor(conversationId, caller.userId);
  const last = await lastSeq(conversationId);
  if (seq > last) throw new BadRequestError(`seq: beyond the conversation's last seq (${last})`);
  const result = await advanceReadCursor(member, seq, input.now.toISOString());
  if (result.moved) return undefined;
  return {
    type: 'read',
    conversationId,
    userId: caller.userId,
    seq: result.cursor.readSeq,
    readAt: result.cursor.readAt ?? input.now.toISOString(),
  };
}
