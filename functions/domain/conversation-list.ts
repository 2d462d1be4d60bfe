/**
 * `sync` without `conversationId`: the caller's conversations, newest change first (a message, an edit,
 * a reaction, a read, a member leaving: anything the entry shows but presence), in pages that stay under
 * 128 KiB. Each entry is the caller's member item as the `inbox` index holds it
 * (adapters/list-entries.ts), so a page is one Query of the index, and a group's receipts one Query of
 * its member items. A client that reconnects reads pages until one holds nothing new to it (the client
 * SDK does).
 *
 * Paging never loses an entry: a later page serves, before its place in the order, every entry that
 * changed after the previous page was read (those moved to the front, past the cursor); an entry can
 * therefore come twice, never not at all.
 */
import { readBlockers, readBlocks } from '../adapters/block-store.ts';
import { readBuckets, readEntriesChangedSince } from '../adapters/conversation-list-store.ts';
import { listBucketOf } from '../adapters/list-entries.ts';
import { listMemberCursors } from '../adapters/member-store.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { messageViewOf } from './attachments.ts';
import { unreadCount } from './badge.ts';
import { BadRequestError } from './errors.ts';
import { byteLength, MAX_FRAME_BYTES } from './frame-size.ts';
import type { ConversationSummary, ConversationsFrame, Receipt } from './frames.ts';
import { fromPeer, hiddenMessage } from './hidden-messages.ts';
import { decodeCursor, encodeCursor, type ListCursor, MAX_CURSOR_LENGTH } from './list-cursor.ts';
import { compareListOrder, type ListEntry, type ListPosition } from './list-entry.ts';
import type { Caller } from './model.ts';
import { messageVersion } from './versions.ts';

/** Group receipts read in parallel for one page. */
const READ_PARALLELISM = 16;

export interface ListConversationsInput {
  caller: Caller;
  cursor: string | undefined;
  limit: number;
  now?: Date;
}

export async function listConversations(input: ListConversationsInput): Promise<ConversationsFrame> {
  const { userId } = input.caller;
  const readAt = (input.now ?? new Date()).toISOString();
  const cursor = input.cursor === undefined ? undefined : decodeCursor(userId, input.cursor);
  if (input.cursor !== undefined && cursor === undefined) {
    throw new BadRequestError('cursor: not a cursor of this conversation list; start again without one');
  }
  const [moved, ordered] = await Promise.all([
    // The index shows a change a moment after its item: one made in the last moment before the previous
    // page may have been missed by both reads. The client's next catch-up finds it at the front.
    cursor === undefined ? Promise.resolve([]) : readEntriesChangedSince(userId, cursor.readAt),
    entriesAfter(userId, cursor, input.limit),
  ]);
  const movedIds = new Set(moved.map((entry) => entry.conversationId));
  // Moved entries first, then the order from the cursor on; each carries whether it advances the cursor.
  const positional = ordered.entries.filter((entry) => !movedIds.has(entry.conversationId));
  const candidates = [
    // Oldest change first: when not all fit, the next page's "moved since" starts after the last served.
    ...moved.sort((a, b) => compareListOrder(b, a)).map((entry) => ({ entry, positional: false })),
    ...positional.map((entry) => ({ entry, positional: true })),
  ].slice(0, input.limit);
  const summaries = await summariesOf(candidates.map(({ entry }) => entry).filter(isShown));

  const page: ConversationSummary[] = [];
  let bytes = byteLength(frameOf([], 'x'.repeat(MAX_CURSOR_LENGTH)));
  let position: ListPosition | undefined = cursor;
  let shown = 0;
  let consumedPositional = 0;
  let consumedMoved = 0;
  let lastMoved: ListEntry | undefined;
  for (const candidate of candidates) {
    const { entry } = candidate;
    if (isShown(entry)) {
      const summary = summaries[shown] as ConversationSummary;
      // +1 for the comma between array elements. One entry always fits: at most 100 members and a
      // message of 4,000 characters.
      const size = byteLength(summary) + 1;
      if (bytes + size > MAX_FRAME_BYTES) break;
      page.push(summary);
      bytes += size;
      shown += 1;
    }
    // A hidden entry is passed over like a served one: the next page starts after it.
    if (candidate.positional) {
      position = entry;
      consumedPositional += 1;
    } else {
      lastMoved = entry;
      consumedMoved += 1;
    }
  }
  const movedLeft = consumedMoved < moved.length;
  const more = ordered.more || consumedPositional < positional.length || movedLeft;
  if (!more) return frameOf(page, null);
  const next: ListCursor = {
    changedAt: position?.changedAt ?? readAt,
    // Before every id: a first page that served only hidden or no entries starts the order again.
    conversationId: position?.conversationId ?? '\u{10FFFF}',
    // Moved entries this page had no room for changed after the last one it served.
    readAt: movedLeft ? (lastMoved?.changedAt ?? cursor?.readAt ?? readAt) : readAt,
  };
  return frameOf(page, encodeCursor(userId, next));
}

/**
 * At least `limit` entries after `cursor` in the list's order (fewer at its end), read bucket by bucket,
 * each bucket whole and ordered by exact time.
 */
async function entriesAfter(
  userId: string,
  cursor: ListCursor | undefined,
  limit: number,
): Promise<{ entries: ListEntry[]; more: boolean }> {
  const entries: ListEntry[] = [];
  let from = cursor === undefined ? undefined : { bucket: listBucketOf(cursor.changedAt), below: false };
  for (;;) {
    const read = await readBuckets(userId, limit - entries.length, from);
    const after = read.entries
      .filter((entry) => cursor === undefined || compareListOrder(entry, cursor) > 0)
      .sort(compareListOrder);
    entries.push(...after);
    if (!read.more || read.lastBucket === undefined) return { entries, more: false };
    if (entries.length >= limit) return { entries, more: true };
    from = { bucket: read.lastBucket, below: true };
  }
}

/** A direct conversation the caller left stays out until a message after the one they left at. */
const isShown = (entry: ListEntry): boolean =>
  entry.hiddenUntilSeq === undefined || shownLastSeq(entry) > entry.hiddenUntilSeq;

const shownLastSeq = (entry: ListEntry): number => Math.max(entry.lastMessage?.seq ?? 0, entry.lastSeq);

async function summariesOf(entries: readonly ListEntry[]): Promise<ConversationSummary[]> {
  const owner = entries[0]?.userId;
  // (1.2) No receipts between users where one blocks the other: read once per page that has a group.
  const cutOff =
    owner !== undefined && entries.some((entry) => entry.kind === 'group')
      ? await cutOffFrom(owner)
      : new Set<string>();
  const groupReceipts = await mapConcurrently(entries, READ_PARALLELISM, (entry) =>
    entry.kind === 'group' ? groupReceiptsOf(entry, cutOff) : Promise.resolve(undefined),
  );
  return Promise.all(entries.map((entry, index) => summaryOf(entry, groupReceipts[index])));
}

/** Everyone `userId` blocks or is blocked by. */
async function cutOffFrom(userId: string): Promise<ReadonlySet<string>> {
  const [blocks, blockers] = await Promise.all([readBlocks(userId), readBlockers(userId)]);
  return new Set([...blocks, ...blockers]);
}

/** A group's receipts: its member items (one Query; members only, the caller left out). */
async function groupReceiptsOf(entry: ListEntry, cutOff: ReadonlySet<string>): Promise<Receipt[]> {
  const cursors = await listMemberCursors(entry.conversationId, { consistent: false });
  return cursors
    .filter(
      (cursor) =>
        cursor.userId !== entry.userId && entry.members.includes(cursor.userId) && !cutOff.has(cursor.userId),
    )
    .map((cursor) => ({
      userId: cursor.userId,
      readSeq: cursor.readSeq,
      deliveredSeq: cursor.deliveredSeq ?? 0,
    }))
    .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}

async function summaryOf(
  entry: ListEntry,
  groupReceipts: Receipt[] | undefined,
): Promise<ConversationSummary> {
  const lastSeq = shownLastSeq(entry);
  // (1.2) A direct conversation the caller blocks: marked, without the other user's receipts or
  // presence, and a message of theirs that slipped in as the block was made shown hidden. Receipts and
  // presence also wait for consent: both users have written in it.
  const blocked = entry.blocking === true;
  const peer = blocked || entry.consented !== true ? undefined : entry.peer;
  const lastMessage =
    blocked && entry.lastMessage !== undefined && fromPeer(entry.lastMessage, entry.userId)
      ? hiddenMessage(entry.lastMessage)
      : entry.lastMessage;
  return {
    conversationId: entry.conversationId,
    kind: entry.kind,
    members: entry.members,
    title: entry.title,
    lastSeq,
    version: Math.max(messageVersion(lastSeq), entry.changeVersion),
    readSeq: entry.readSeq,
    unread: unreadCount(entry),
    // With its attachments' download links, signed per page (local computation).
    lastMessage: lastMessage === undefined ? null : await messageViewOf(lastMessage),
    receipts:
      groupReceipts ??
      (peer === undefined
        ? []
        : [{ userId: peer.userId, readSeq: peer.readSeq, deliveredSeq: peer.deliveredSeq }]),
    ...(peer !== undefined && {
      presence: {
        status: peer.status ?? 'offline',
        lastSeen: peer.status === 'online' ? null : peer.lastSeen,
      },
    }),
    ...(blocked && { blocked: true }),
    ...(entry.request === true && { request: true }),
  };
}

const frameOf = (conversations: ConversationSummary[], nextCursor: string | null): ConversationsFrame => ({
  type: 'conversations',
  conversations,
  nextCursor,
});
