/**
 * `block` and `listBlocks` (protocol.md 1.2, "safety between users"). What a block does is spread over
 * the paths it affects, each reading it where it already reads (functions/adapters/block-store.ts):
 * sends and group creation refuse the blocked user (membership.ts, create-conversation.ts), delivery
 * hides their messages from the blocker and lets no presence, typing, `read` or `delivered` pass either
 * way (functions/delivery/blocks-between.ts), `sync` and the list hide the same messages.
 */
import { addBlock, MAX_BLOCKS, markDirectBlock, readBlocks, removeBlock } from '../adapters/block-store.ts';
import { ForbiddenError, TooLargeError } from './errors.ts';
import type { ActionAckFrame, BlocksFrame } from './frames.ts';
import { directConversationId } from './identifiers.ts';
import type { Caller } from './model.ts';
import { requireWithinRate } from './rate-limits.ts';

export interface BlockInput {
  caller: Caller;
  userId: string;
  on: boolean;
  now: Date;
}

/**
 * Blocks or unblocks, idempotently. Everything is in place before the `ack`: once a client has it, no
 * message the blocked user commits later reaches the blocker whole (architecture.md guarantee 12).
 * Blocking a user id that does not exist is allowed and answered the same: it tells nobody who exists.
 */
export async function block(input: BlockInput): Promise<ActionAckFrame> {
  const blockerId = input.caller.userId;
  if (input.userId === blockerId) throw new ForbiddenError('you cannot block yourself');
  await requireWithinRate(blockerId, 'block', input.now);
  const at = input.now.toISOString();
  const direct = directConversationId(blockerId, input.userId);
  if (input.on) {
    if ((await addBlock(blockerId, input.userId, at)) === 'full') {
      throw new TooLargeError(`you can block at most ${MAX_BLOCKS} users; unblock someone first`);
    }
    await markDirectBlock(direct, blockerId, input.userId, true, at);
  } else {
    // The direct conversation first: a retry after a failure between the two finds the set unchanged.
    await markDirectBlock(direct, blockerId, input.userId, false, at);
    await removeBlock(blockerId, input.userId);
  }
  return { type: 'ack', action: 'block' };
}

/** The users the caller blocks, sorted: strongly consistent, so a block just acked is listed. */
export async function listBlocks(caller: Caller): Promise<BlocksFrame> {
  return { type: 'blocks', userIds: [...(await readBlocks(caller.userId))].sort() };
}
