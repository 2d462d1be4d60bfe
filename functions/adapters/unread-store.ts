/**
 * The delivery side of the unread bookkeeping on member items (`CONV#{id}` / `MEMBER#{userId}`), and the
 * sparse `unread` index it feeds: `lastSeq` is the newest seq sent to the member by others, and
 * `unreadOwner` (the index's partition key) is present only while the member has something unread.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { UNREAD_INDEX } from '../../definitions/table.ts';
import type { UnreadEntry } from '../domain/badge.ts';
import type { StoredMessage } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { DELIVERY_BY, IMPLICIT_READ_BY } from './changed-by.ts';
import { conversationPartition } from './keys.ts';
import { answeredPart, consentPart, counterPart, lastMessagePart, updateEntry } from './list-entries.ts';

type Item = Record<string, unknown>;

const numberOf = (value: unknown): number => (typeof value === 'number' ? value : 0);

function toEntry(conversationId: string, item: Item): UnreadEntry {
  return { conversationId, lastSeq: numberOf(item.lastSeq), readSeq: numberOf(item.readSeq) };
}

/** A recipient's cursor after a delivery, and whether the conversation is still a request for them. */
export interface DeliveredEntry extends UnreadEntry {
  /** (1.2) Contact policy `requests`: the recipient has neither answered nor accepted it yet. */
  request: boolean;
}

/**
 * Records that `message` was sent to `userId`: their entry's `lastSeq` (the newest seq sent to them by
 * others), `unreadOwner` unless they read this far already (on another device, or a sync that ran
 * before this delivery) and `lastMessage`; and whether it is a request for them. The entry moves up in their list. Returns the
 * member's cursor as it now stands, or undefined when the member item does not exist. Idempotent and
 * order-free: every part is forward-only (list-entries.ts), so a replayed record changes nothing and an
 * older one arriving late moves nothing backwards.
 */
export async function recordDelivered(
  message: StoredMessage,
  userId: string,
  now: string,
  /** (1.2) In a direct conversation: the sender has now written in it (consent, list-entries.ts). */
  options: { direct: boolean } = { direct: false },
): Promise<DeliveredEntry | undefined> {
  const { seq } = message;
  const item = await updateEntry({
    conversationId: message.conversationId,
    userId,
    parts: [
      counterPart('lastSeq', seq),
      {
        set: ['unreadOwner = :unreadOwner'],
        guard: 'readSeq < :unreadSeq',
        values: { ':unreadOwner': userId, ':unreadSeq': seq },
        // Once `lastSeq` passed `readSeq` the owner is set until a read catches up with `lastSeq`.
        stillApplies: (stored) => numberOf(stored.readSeq) < seq && stored.unreadOwner === undefined,
      },
      lastMessagePart(message),
      ...(options.direct ? [consentPart('peerSent')] : []),
    ],
    movedAt: now,
    changedBy: DELIVERY_BY,
  });
  return item === undefined
    ? undefined
    : { ...toEntry(message.conversationId, item), request: item.pendingRequest === true };
}

/**
 * A group member's connection took `message`: their `deliveredSeq`, which the group's receipts show
 * (forward only; it moves no entry: their own list does not show it).
 */
export async function recordReached(message: StoredMessage, userId: string): Promise<void> {
  await updateEntry({
    conversationId: message.conversationId,
    userId,
    parts: [counterPart('deliveredSeq', message.seq)],
    movedAt: undefined,
    changedBy: DELIVERY_BY,
  });
}

/**
 * The sender's side of `message` (protocol.md 1.2): sending reads what came before, so their read cursor
 * moves to its seq (and they leave the unread index when nothing from others is above it), their entry
 * shows it as `lastMessage` and moves up, and in a direct conversation it records `peerDeliveredSeq`
 * when the message reached a connection of the other user (the sender's ticks in the list), and that
 * the sender has written in it (consent). No `read` frame goes out (`changedBy`): the sender's other
 * connections learn it from the `message` frame. Writing in a conversation that was a request for the
 * sender answers it (contact policy `requests`). Returns the entry as it now stands.
 */
export async function recordSent(
  message: StoredMessage,
  options: { peerReached: boolean; now: string; direct: boolean },
): Promise<Item | undefined> {
  const { seq, createdAt } = message;
  return updateEntry({
    conversationId: message.conversationId,
    userId: message.senderId,
    parts: [
      {
        set: ['readSeq = :readSeq', 'readAt = :readAt'],
        guard: 'readSeq < :readSeq',
        values: { ':readSeq': seq, ':readAt': createdAt },
        stillApplies: (stored) => numberOf(stored.readSeq) < seq,
      },
      {
        set: [],
        remove: ['unreadOwner'],
        guard: 'lastSeq <= :caughtUpSeq',
        values: { ':caughtUpSeq': seq },
        stillApplies: (stored) => numberOf(stored.readSeq) < seq && numberOf(stored.lastSeq) <= seq,
      },
      lastMessagePart(message),
      ...(options.peerReached ? [counterPart('peerDeliveredSeq', seq)] : []),
      ...(options.direct ? [consentPart('sent'), answeredPart()] : []),
    ],
    movedAt: options.now,
    changedBy: IMPLICIT_READ_BY,
  });
}

/**
 * The user's conversations with something unread, from the sparse `unread` index: its size is the
 * number of such conversations, never the size of the table. Index reads are eventually consistent.
 */
export async function listUnread(userId: string): Promise<UnreadEntry[]> {
  const entries: UnreadEntry[] = [];
  const prefix = conversationPartition('');
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        IndexName: UNREAD_INDEX,
        KeyConditionExpression: 'unreadOwner = :owner',
        ExpressionAttributeValues: { ':owner': userId },
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      entries.push(toEntry(String(item.PK).slice(prefix.length), item));
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return entries;
}
