/**
 * Who is cut off from whom when something of one member goes to the others (protocol.md 1.2, "Block"
 * and "Presence, typing and receipts need consent"):
 * - `blockers`: members who block that member. They get the member's messages `hidden` (and no push);
 * - `cutOff`: those, and the members that member blocks, and in a direct conversation the other user
 *   until both have written in it. Nothing else passes between them: no typing, `read` or `delivered`.
 * In a direct conversation both answers come from its two member items, which delivery reads strongly
 * consistently anyway (audience.ts). In a group, who blocks the member is one strongly consistent Query
 * (functions/adapters/block-store.ts): once `block` is acked, nothing later slips through a lagging
 * replica (architecture.md guarantee 12). Whom the member blocks comes from their own state item, as
 * the audience read it.
 */
import { readBlockers } from '../adapters/block-store.ts';
import { hasConsent } from '../adapters/list-entries.ts';
import type { MemberCursor } from '../domain/model.ts';
import type { ConversationAudience } from './audience.ts';

export interface BlocksAround {
  readonly blockers: ReadonlySet<string>;
  readonly cutOff: ReadonlySet<string>;
}

export async function blocksAround(
  audience: ConversationAudience,
  userId: string,
  /** Their message is what is delivered: they are writing in it now, whatever their item says yet. */
  options: { writing?: boolean } = {},
): Promise<BlocksAround> {
  const others = audience.conversation.members.filter((member) => member !== userId);
  if (audience.conversation.kind === 'direct') {
    return directBlocks(audience.cursors, userId, others[0], options.writing === true);
  }
  const blockers = intersect(await readBlockers(userId), others);
  const own = audience.members.find((entry) => entry.userId === userId)?.state.blocks;
  return { blockers, cutOff: new Set([...blockers, ...intersect(own ?? new Set(), others)]) };
}

function directBlocks(
  cursors: readonly MemberCursor[],
  userId: string,
  peer: string | undefined,
  writing: boolean,
): BlocksAround {
  if (peer === undefined) return { blockers: new Set(), cutOff: new Set() };
  const peerBlocks = cursors.some((cursor) => cursor.userId === peer && cursor.blocking === true);
  const own = cursors.find((cursor) => cursor.userId === userId);
  const flows =
    own !== undefined &&
    own.blocking !== true &&
    !peerBlocks &&
    hasConsent({ sent: own.sent === true || writing, peerSent: own.peerSent });
  return {
    blockers: peerBlocks ? new Set([peer]) : new Set(),
    cutOff: flows ? new Set() : new Set([peer]),
  };
}

const intersect = (set: ReadonlySet<string>, members: readonly string[]): Set<string> =>
  new Set(members.filter((member) => set.has(member)));
