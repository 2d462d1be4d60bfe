/**
 * The stored side of the conversation list:
 * - a user's memberships, from the `inbox` index: every member item of theirs with `activityAt`, the
 *   time of the newest message others sent them there (or of the conversation's creation);
 * - list snapshots (`LIST#{userId}#{listId}` / `CHUNK#{n}`): the order of those conversations as it
 *   stood at a list's first page, in chunks of 100 ids, so that paging on never misses or repeats one
 *   while messages keep moving conversations up. They expire by TTL.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { INBOX_INDEX } from '../../definitions/table.ts';
import { DIRECT_ID_PREFIX } from '../domain/identifiers.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { batchGetItems } from './batch-get.ts';
import { conversationPartition, keys } from './keys.ts';

type Item = Record<string, unknown>;

export interface Membership {
  conversationId: string;
  activityAt: string;
}

/** Every conversation `userId` is a member of. The index is eventually consistent, like every GSI. */
export async function listMemberships(userId: string): Promise<Membership[]> {
  const prefix = conversationPartition('');
  return (await queryInbox(userId, '')).map((item) => ({
    conversationId: String(item.PK).slice(prefix.length),
    activityAt: typeof item.activityAt === 'string' ? item.activityAt : '',
  }));
}

export interface Contact {
  userId: string;
  /** Of the direct conversation with them. */
  activityAt: string;
}

/**
 * The users `userId` shares a direct conversation with (`peer` of their direct member items, from the
 * `inbox` index: one Query, no read of the conversations). Eventually consistent.
 */
export async function listDirectContacts(userId: string): Promise<Contact[]> {
  const items = await queryInbox(userId, conversationPartition(DIRECT_ID_PREFIX));
  return items.flatMap((item) =>
    typeof item.peer === 'string'
      ? [{ userId: item.peer, activityAt: typeof item.activityAt === 'string' ? item.activityAt : '' }]
      : [],
  );
}

/** All of the user's `inbox` entries whose `PK` starts with `prefix` (every one for ''). */
async function queryInbox(userId: string, prefix: string): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        IndexName: INBOX_INDEX,
        KeyConditionExpression:
          prefix === '' ? 'memberOf = :user' : 'memberOf = :user AND begins_with(PK, :prefix)',
        ExpressionAttributeValues: { ':user': userId, ...(prefix !== '' && { ':prefix': prefix }) },
        ExclusiveStartKey,
      }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** Ids per snapshot item: 100 ids of up to 128 characters stay far below DynamoDB's 400 KB. */
export const LIST_CHUNK_SIZE = 100;
/** BatchWriteItem takes at most 25 items per call. */
const BATCH_WRITE_LIMIT = 25;
const UNPROCESSED_RETRY_DELAYS_MS = [25, 100, 250];

export interface ListSnapshot {
  /** Conversation ids, newest activity first. */
  ids: string[];
  /** The key that signs this list's cursors (base64url). */
  key: string;
  /** Epoch seconds: the TTL, and the moment its cursors stop being accepted. */
  expiresAt: number;
}

export async function saveList(userId: string, listId: string, list: ListSnapshot): Promise<void> {
  const items: Item[] = [];
  for (let start = 0; start < list.ids.length; start += LIST_CHUNK_SIZE) {
    items.push({
      ...keys.conversationList(userId, listId, start / LIST_CHUNK_SIZE),
      type: 'conversationList',
      ids: list.ids.slice(start, start + LIST_CHUNK_SIZE),
      total: list.ids.length,
      key: list.key,
      expiresAt: list.expiresAt,
    });
  }
  for (let start = 0; start < items.length; start += BATCH_WRITE_LIMIT) {
    await batchWriteAll(items.slice(start, start + BATCH_WRITE_LIMIT));
  }
}

async function batchWriteAll(items: Item[]): Promise<void> {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  for (const delay of [0, ...UNPROCESSED_RETRY_DELAYS_MS]) {
    if (delay > 0) await sleep(delay);
    const output = await dynamo.send(new BatchWriteCommand({ RequestItems: { [TABLE_NAME]: pending } }));
    const unprocessed = output.UnprocessedItems?.[TABLE_NAME] ?? [];
    if (unprocessed.length === 0) return;
    pending = unprocessed.map((request) => ({ PutRequest: { Item: request.PutRequest?.Item ?? {} } }));
  }
  throw new Error(`BatchWriteItem left ${pending.length} item(s) unprocessed after retries`);
}

export interface ListSlice {
  /** The ids at positions [from, from + ids.length) of the list. */
  ids: string[];
  total: number;
  key: string;
  expiresAt: number;
}

/**
 * Positions [from, to) of a saved list (fewer at its end), strongly consistent: the second page is
 * asked for moments after the first saved the list. Undefined when the list does not exist (another
 * user's, made up, or expired and deleted) or a chunk is missing.
 */
export async function readList(
  userId: string,
  listId: string,
  from: number,
  to: number,
): Promise<ListSlice | undefined> {
  const first = Math.floor(from / LIST_CHUNK_SIZE);
  const last = Math.floor(Math.max(from, to - 1) / LIST_CHUNK_SIZE);
  const wanted = [];
  for (let chunk = first; chunk <= last; chunk++) wanted.push(keys.conversationList(userId, listId, chunk));
  const items = await batchGetItems(wanted, { consistent: true });
  const chunks = new Map(items.map((item) => [String(item.SK), item]));
  const head = chunks.get(wanted[0]?.SK ?? '');
  if (head === undefined) return undefined;
  const total = Number(head.total);
  const ids: string[] = [];
  for (const key of wanted) {
    const chunk = chunks.get(key.SK);
    // A chunk past the list's end is simply absent; one inside it must be there.
    if (chunk === undefined) {
      if (ids.length + first * LIST_CHUNK_SIZE < total) return undefined;
      break;
    }
    ids.push(...(chunk.ids as string[]));
  }
  const offset = from - first * LIST_CHUNK_SIZE;
  return {
    ids: ids.slice(offset, offset + (to - from)),
    total,
    key: String(head.key),
    expiresAt: Number(head.expiresAt),
  };
}
