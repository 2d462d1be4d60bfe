/**
 * `sync` without `conversationId`: the caller's conversations, newest activity first, in pages that
 * stay under 128 KiB, with none missing or repeated however long the paging takes and whatever
 * arrives meanwhile.
 *
 * The first page reads all of the caller's memberships from the `inbox` index (one Query for up to
 * about 7,000 conversations) and orders them by `activityAt`. When they do not fit in one page, that
 * order is saved as a list snapshot and later pages walk it: a conversation that moves up while the
 * client pages is still served exactly once, at its place as of the first page (and its new messages
 * reach the client as `message` frames anyway). The fields of each entry are read when its page is
 * served, so they are current. A snapshot lives for an hour; after that the client starts again.
 */

import { listMemberships, readList, saveList } from '../adapters/conversation-list-store.ts';
import { getConversation, getConversations } from '../adapters/conversation-store.ts';
import { getMember, listMemberCursors } from '../adapters/member-store.ts';
import { readLastMessage } from '../adapters/message-history.ts';
import { readPresence } from '../adapters/presence-store.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { messageViewOf } from './attachments.ts';
import { unreadCount } from './badge.ts';
import { BadRequestError } from './errors.ts';
import { byteLength, MAX_FRAME_BYTES } from './frame-size.ts';
import type { ConversationSummary, ConversationsFrame, MessageView, PresenceView } from './frames.ts';
import {
  MAX_CURSOR_LENGTH,
  newListId,
  newListKey,
  parseCursor,
  signCursor,
  verifyCursor,
} from './list-cursor.ts';
import type { Caller, Conversation, MemberCursor, StoredMessage } from './model.ts';
import { conversationVersion } from './versions.ts';

/** How long a list's cursors are accepted (and its snapshot kept). */
export const LIST_LIFETIME_SECONDS = 3600;
/** Newest-message reads in flight at once for one page. */
const READ_PARALLELISM = 16;

export interface ListConversationsInput {
  caller: Caller;
  cursor: string | undefined;
  limit: number;
  now?: Date;
}

export async function listConversations(input: ListConversationsInput): Promise<ConversationsFrame> {
  const { userId } = input.caller;
  const now = input.now ?? new Date();
  if (input.cursor === undefined) return firstPage(userId, input.limit, now);
  return laterPage(userId, input.cursor, input.limit, now);
}

async function firstPage(userId: string, limit: number, now: Date): Promise<ConversationsFrame> {
  const ids = newestFirst(await listMemberships(userId));
  const page = await buildPage(userId, ids.slice(0, limit));
  if (page.consumed === ids.length) return frameOf(page.conversations, null);
  const listId = newListId();
  const key = newListKey();
  await saveList(userId, listId, {
    ids,
    key,
    expiresAt: Math.floor(now.getTime() / 1000) + LIST_LIFETIME_SECONDS,
  });
  return frameOf(page.conversations, signCursor(key, userId, listId, page.consumed));
}

async function laterPage(
  userId: string,
  cursor: string,
  limit: number,
  now: Date,
): Promise<ConversationsFrame> {
  const position = parseCursor(cursor);
  if (position === undefined) throw invalidCursor();
  const list = await readList(userId, position.listId, position.offset, position.offset + limit);
  if (list === undefined || !verifyCursor(list.key, userId, position) || position.offset >= list.total) {
    throw invalidCursor();
  }
  // TTL deletes expired items only eventually: the expiry itself is checked here.
  if (list.expiresAt * 1000 <= now.getTime()) {
    throw new BadRequestError('cursor: expired; start the conversation list again without a cursor');
  }
  const page = await buildPage(userId, list.ids);
  const next = position.offset + page.consumed;
  return frameOf(
    page.conversations,
    next < list.total ? signCursor(list.key, userId, position.listId, next) : null,
  );
}

/** One answer for a cursor that was never ours to give this caller, whatever is wrong with it. */
const invalidCursor = (): BadRequestError =>
  new BadRequestError('cursor: not a cursor of this conversation list; start again without one');

/** Newest activity first; ties broken by id, so that the order is total and stable. */
function newestFirst(memberships: { conversationId: string; activityAt: string }[]): string[] {
  return memberships
    .sort((a, b) =>
      a.activityAt === b.activityAt
        ? compare(b.conversationId, a.conversationId)
        : compare(b.activityAt, a.activityAt),
    )
    .map((membership) => membership.conversationId);
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Page {
  conversations: ConversationSummary[];
  /**
   * How many of the ids this page took: served, or skipped because the caller is no longer a member
   * (left a group) or left a direct conversation that has had no message since.
   */
  consumed: number;
}

/** As many of `ids` as fit in one frame, in their order, with their current fields. */
async function buildPage(userId: string, ids: string[]): Promise<Page> {
  const [conversations, memberItems, lastMessages] = await Promise.all([
    // Consistent: each entry's `version` tells the client what to sync, so it must not lag a change.
    getConversations(ids, { consistent: true }),
    // Every member's cursor: the caller's own, and the others' as `receipts`.
    mapConcurrently(ids, READ_PARALLELISM, (id) => listMemberCursors(id, { consistent: false })),
    mapConcurrently(ids, READ_PARALLELISM, readLastMessage),
  ]);
  const members = new Map(ids.map((id, index) => [id, memberItems[index] ?? []]));
  // The other user of each direct conversation: their presence is in the entry.
  const peers = [...conversations.values()]
    .filter((conversation) => conversation.kind === 'direct')
    .flatMap((conversation) => conversation.members.filter((member) => member !== userId));
  const presence = peers.length > 0 ? await readPresence(peers) : new Map<string, PresenceView>();
  const page: Page = { conversations: [], consumed: 0 };
  let bytes = byteLength(frameOf([], 'x'.repeat(MAX_CURSOR_LENGTH)));
  for (const [index, conversationId] of ids.entries()) {
    // The index said the caller is a member; an eventually consistent batch read may not see an item
    // written a moment ago, so a miss is asked again, consistently, before it counts as gone.
    const conversation =
      conversations.get(conversationId) ?? (await getConversation(conversationId, { consistent: true }));
    const cursors = members.get(conversationId) ?? [];
    const member =
      cursors.find((cursor) => cursor.userId === userId) ?? (await getMember(conversationId, userId));
    if (conversation === undefined || member === undefined || !conversation.members.includes(userId)) {
      page.consumed += 1;
      continue;
    }
    const last = lastMessages[index];
    // With its attachments' download links, signed per page (local computation).
    const summary = toSummary(
      conversation,
      member,
      last,
      last === undefined ? null : await messageViewOf(last),
      { cursors, presence },
    );
    // A direct conversation the caller left stays out until a message after the one they left at.
    if (member.hiddenUntilSeq !== undefined && summary.lastSeq <= member.hiddenUntilSeq) {
      page.consumed += 1;
      continue;
    }
    // +1 for the comma between array elements. One entry always fits: at most 100 members and a
    // message of 4,000 characters.
    const size = byteLength(summary) + 1;
    if (bytes + size > MAX_FRAME_BYTES) break;
    page.conversations.push(summary);
    page.consumed += 1;
    bytes += size;
  }
  return page;
}

function toSummary(
  conversation: Conversation,
  member: MemberCursor,
  lastMessage: StoredMessage | undefined,
  lastView: MessageView | null,
  others: { cursors: readonly MemberCursor[]; presence: ReadonlyMap<string, PresenceView> },
): ConversationSummary {
  const peer =
    conversation.kind === 'direct' ? conversation.members.find((id) => id !== member.userId) : undefined;
  const peerPresence = peer === undefined ? undefined : others.presence.get(peer);
  return {
    conversationId: conversation.conversationId,
    kind: conversation.kind,
    members: conversation.members,
    title: conversation.title,
    lastSeq: Math.max(lastMessage?.seq ?? 0, member.lastSeq),
    version: conversationVersion({
      lastSeq: lastMessage?.seq ?? 0,
      changeSeq: conversation.changeSeq,
      changeCount: conversation.changeCount ?? 0,
    }),
    readSeq: member.readSeq,
    // As the push badge counts it: up to the newest message from others, after the read cursor. The
    // member's `lastSeq` is kept by delivery, a moment after the commit; a newest message from someone
    // else that delivery has not counted yet is counted here already.
    unread: unreadCount({
      ...member,
      lastSeq:
        lastMessage !== undefined && lastMessage.senderId !== member.userId
          ? Math.max(member.lastSeq, lastMessage.seq)
          : member.lastSeq,
    }),
    lastMessage: lastView,
    // Members only: a member item left behind by nothing (every leave deletes its item) never shows.
    receipts: others.cursors
      .filter((cursor) => cursor.userId !== member.userId && conversation.members.includes(cursor.userId))
      .map((cursor) => ({
        userId: cursor.userId,
        readSeq: cursor.readSeq,
        deliveredSeq: cursor.deliveredSeq ?? 0,
      }))
      .sort((a, b) => compare(a.userId, b.userId)),
    ...(peerPresence !== undefined && { presence: peerPresence }),
  };
}

const frameOf = (conversations: ConversationSummary[], nextCursor: string | null): ConversationsFrame => ({
  type: 'conversations',
  conversations,
  nextCursor,
});
