/**
 * The stored side of the conversation list: a user's entries in the `inbox` index (their member items,
 * with what the list shows: adapters/list-entries.ts), newest change first. Index reads are eventually
 * consistent, like every global index's.
 */
import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { CONTACTS_INDEX, INBOX_INDEX } from '../../definitions/table.ts';
import type { ListEntry } from '../domain/list-entry.ts';
import type { StoredMessage } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { conversationPartition } from './keys.ts';
import { hasConsent, listBucketOf } from './list-entries.ts';

type Item = Record<string, unknown>;

const PREFIX = conversationPartition('');
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const count = (value: unknown): number => (typeof value === 'number' ? value : 0);

function toListEntry(userId: string, item: Item): ListEntry {
  const kind = item.kind === 'group' ? 'group' : 'direct';
  const peerStatus =
    item.peerStatus === 'online' || item.peerStatus === 'offline' ? item.peerStatus : undefined;
  return {
    conversationId: String(item.PK).slice(PREFIX.length),
    userId,
    kind,
    members: Array.isArray(item.members) ? item.members.map(String) : [],
    title: text(item.title) ?? null,
    changedAt: text(item.changedAt) ?? '',
    listAt: text(item.listAt) ?? '',
    lastSeq: count(item.lastSeq),
    readSeq: count(item.readSeq),
    ...(typeof item.hiddenUntilSeq === 'number' && { hiddenUntilSeq: item.hiddenUntilSeq }),
    lastMessage: (item.lastMessage as StoredMessage | undefined) ?? undefined,
    changeVersion: count(item.changeVersion),
    ...(item.blocking === true && { blocking: true }),
    ...(hasConsent(item) && { consented: true }),
    ...(item.pendingRequest === true && { request: true }),
    ...(typeof item.peer === 'string' && {
      peer: {
        userId: item.peer,
        readSeq: count(item.peerReadSeq),
        deliveredSeq: count(item.peerDeliveredSeq),
        ...(peerStatus !== undefined && { status: peerStatus }),
        lastSeen: text(item.peerLastSeen) ?? null,
      },
    }),
  };
}

export interface BucketsRead {
  /** Every entry of the buckets read: whole buckets, so that they can be ordered by exact time. */
  entries: ListEntry[];
  /** The oldest bucket read; undefined when nothing was read. */
  lastBucket: string | undefined;
  /** True when the index has older buckets than the ones read. */
  more: boolean;
}

/**
 * The user's entries, whole buckets newest first, from bucket `from` (inclusive, or exclusive with
 * `below`; the newest bucket when undefined): at least `wanted` entries when there are that many, and
 * then the rest of the last bucket reached (the index orders buckets, not the entries inside one).
 */
export async function readBuckets(
  userId: string,
  wanted: number,
  from: { bucket: string; below: boolean } | undefined,
): Promise<BucketsRead> {
  const query = (condition: string, values: Item, extra: Partial<QueryCommandInput>) =>
    dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        IndexName: INBOX_INDEX,
        KeyConditionExpression: `memberOf = :user${condition}`,
        ExpressionAttributeValues: { ':user': userId, ...values },
        ScanIndexForward: false,
        ...extra,
      }),
    );
  const first = await query(
    from === undefined ? '' : ` AND listAt ${from.below ? '<' : '<='} :from`,
    from === undefined ? {} : { ':from': from.bucket },
    { Limit: wanted },
  );
  const items = [...(first.Items ?? [])];
  const lastBucket = items.length === 0 ? undefined : String(items.at(-1)?.listAt);
  let ExclusiveStartKey: Item | undefined = first.LastEvaluatedKey;
  while (ExclusiveStartKey !== undefined && lastBucket !== undefined) {
    const rest = await query(' AND listAt = :bucket', { ':bucket': lastBucket }, { ExclusiveStartKey });
    items.push(...(rest.Items ?? []));
    ExclusiveStartKey = rest.LastEvaluatedKey;
  }
  return {
    entries: items.map((item) => toListEntry(userId, item)),
    lastBucket,
    // Whether older buckets exist is learnt by asking for them: the first Query stopping at its limit
    // says there may be.
    more: first.LastEvaluatedKey !== undefined,
  };
}

/**
 * The user's entries that changed after `since` (ISO 8601): those of the buckets from `since`'s up,
 * newest first. What moved to the front of the list while a client was paging through it.
 */
export async function readEntriesChangedSince(userId: string, since: string): Promise<ListEntry[]> {
  const entries: ListEntry[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        IndexName: INBOX_INDEX,
        KeyConditionExpression: 'memberOf = :user AND listAt >= :since',
        ExpressionAttributeValues: { ':user': userId, ':since': listBucketOf(since) },
        ScanIndexForward: false,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const entry = toListEntry(userId, item);
      if (entry.changedAt > since) entries.push(entry);
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return entries;
}

export interface Contact {
  /** A user who shares a direct conversation with the one asked about. */
  userId: string;
  conversationId: string;
}

/**
 * The users `userId` shares a direct conversation with, and those conversations: the entries whose
 * `peer` is `userId`, from the `contacts` index (keys and owner only: about 100 bytes each).
 */
export async function listDirectContacts(userId: string, limit: number): Promise<Contact[]> {
  const contacts: Contact[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        IndexName: CONTACTS_INDEX,
        KeyConditionExpression: 'peer = :user',
        ExpressionAttributeValues: { ':user': userId },
        Limit: limit - contacts.length,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) {
      if (typeof item.memberOf !== 'string') continue;
      contacts.push({ userId: item.memberOf, conversationId: String(item.PK).slice(PREFIX.length) });
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey && contacts.length < limit);
  return contacts;
}
