/**
 * A conversation's `version` (protocol.md 1.2): an integer that grows with every stored change a member
 * can see. It is built so that a new message, the hot path, writes nothing more than in 1.1:
 *
 *   version = seq × VERSIONS_PER_SEQ + n
 *
 * where `seq` is the conversation's newest message when the change committed and `n` counts the
 * changes (edits, deletions, reactions, leaves) committed since that message. A new message's version
 * is `seq × VERSIONS_PER_SEQ` (n = 0) and is never stored: it follows from its `seq`. A change stores
 * its version on the item it changed and its `n` on the conversation item, in one transaction that also
 * checks that message `seq + 1` does not exist yet (functions/adapters/versioned-change.ts). Changes and
 * new messages therefore commit in version order, which is what lets `sync` by `afterVersion` never
 * miss one: a change committed after a reader saw version V has a version above V.
 */

/** Room for a million changes between two messages; seq × this stays a safe integer below seq 9·10⁹. */
export const VERSIONS_PER_SEQ = 1_000_000;

/** The version of a message that has not changed since it was committed. */
export const messageVersion = (seq: number): number => seq * VERSIONS_PER_SEQ;

/** The `seq` slot a version belongs to: messages with a greater seq are newer than the version. */
export const seqOfVersion = (version: number): number => Math.floor(version / VERSIONS_PER_SEQ);

/** Where a conversation's changes stand: its newest seq, and the changes counted since (the conversation item's `changeSeq`, `changeCount`). */
export interface VersionSlot {
  lastSeq: number;
  /** Absent until the conversation's first change. */
  changeSeq: number | undefined;
  changeCount: number;
}

/** The conversation's current version. */
export function conversationVersion(slot: VersionSlot): number {
  const lastChange = slot.changeSeq === undefined ? 0 : messageVersion(slot.changeSeq) + slot.changeCount;
  // The greater of the two: read at different moments, either may be the newer.
  return Math.max(messageVersion(slot.lastSeq), lastChange);
}

/** The count the next change stores, and the version it gets. */
export function nextChange(slot: VersionSlot): { changeSeq: number; changeCount: number; version: number } {
  const changeCount = slot.changeSeq === slot.lastSeq ? slot.changeCount + 1 : 1;
  if (changeCount >= VERSIONS_PER_SEQ) throw new RangeError('too many changes since the last message');
  return { changeSeq: slot.lastSeq, changeCount, version: messageVersion(slot.lastSeq) + changeCount };
}
