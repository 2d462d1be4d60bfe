/**
 * Fills the benchmark's table with other users, for the flat-cost figures (bench/flat-cost.ts): each
 * one connected on one device, in two direct conversations, and the sender of one message. Users come in
 * rings of RING: user k writes to the next user of its ring, so there are as many conversations and
 * messages as users, and a ring never changes when more are added (10, then 10,000, then 100,000 only
 * adds what is missing). Items are built as the handlers build them (their builders where they exist,
 * their types elsewhere), so their shapes cannot drift; member items are as the conversation's creation
 * left them (message 1 not yet delivered), and there are no presence items. Imports the adapters, which
 * read TABLE_NAME when first imported: set it first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CONNECTION_TTL_SECONDS } from '../functions/adapters/connection-store.ts';
import { memberItem } from '../functions/adapters/conversation-store.ts';
import { type ItemType, keys } from '../functions/adapters/keys.ts';
import type { NewMessage } from '../functions/adapters/message-store.ts';
import { directConversationId, newMessageId } from '../functions/domain/identifiers.ts';
import type { Connection, Conversation } from '../functions/domain/model.ts';

type Item = Record<string, unknown>;

/** Users per ring of direct conversations; seeded ranges are whole rings. */
export const RING = 10;
/**
 * Connection, conversation, its two members and the message. Not the message's send receipt: a
 * partition of its own that no delivery reads, and a sixth of the seeding time.
 */
export const ITEMS_PER_USER = 5;
/** BatchWriteItem takes at most 25 items per call. */
const BATCH_WRITE_LIMIT = 25;
/** Calls in flight at once: enough to keep DynamoDB Local busy on two cores. */
const PARALLEL_BATCHES = 8;
const UNPROCESSED_RETRY_DELAYS_MS = [50, 200, 500, 1_000, 2_000];
/** A typical chat line; the other users' item sizes do not enter the measured message's units. */
const CONTENT = 'See you at the station at six, I will bring the tickets.';

export const otherUserId = (k: number): string => `other-${k}`;
const connectionIdOf = (k: number): string => `otherConn${k}=`;
/** The user k writes to: the next one in its ring. */
const partnerOf = (k: number): number => k - (k % RING) + (((k % RING) + 1) % RING);

/** The items user k brings: its connection, and the conversation (with message 1) it started. */
export function otherUserItems(k: number, at: Date): Item[] {
  const userId = otherUserId(k);
  const partnerId = otherUserId(partnerOf(k));
  const createdAt = at.toISOString();
  const connection: Required<Omit<Connection, 'jti'>> = {
    connectionId: connectionIdOf(k),
    userId,
    deviceId: `other-phone-${k}`,
    connectedAt: createdAt,
    storedAt: createdAt,
  };
  const conversationId = directConversationId(userId, partnerId);
  const conversation: Conversation = {
    conversationId,
    kind: 'direct',
    members: [userId, partnerId].sort(),
    title: null,
    createdAt,
  };
  const message: NewMessage = {
    conversationId,
    messageId: newMessageId(),
    senderId: userId,
    senderName: `Other ${k}`,
    content: CONTENT,
    createdAt,
    clientMessageId: `seed-${k}`,
    originConnectionId: connection.connectionId,
  };
  const type = (value: ItemType) => ({ type: value });
  return [
    {
      ...keys.connection(userId, connection.connectionId),
      ...type('connection'),
      ...connection,
      expiresAt: Math.floor(at.getTime() / 1000) + CONNECTION_TTL_SECONDS,
    },
    { ...keys.conversation(conversationId), ...type('conversation'), ...conversation, createdBy: userId },
    memberItem(conversation, userId, createdAt),
    memberItem(conversation, partnerId, createdAt),
    { ...keys.message(conversationId, 1), ...type('message'), ...message, seq: 1 },
  ];
}

export interface SeedRange {
  /** First user index to add (the users below it are in the table already). */
  readonly from: number;
  /** One past the last user index to add. */
  readonly to: number;
}

/** Puts users [from, to) with BatchWriteItem; `onProgress` hears each tenth done. */
export async function seedOtherUsers(
  client: DynamoDBDocumentClient,
  tableName: string,
  range: SeedRange,
  onProgress?: (written: number, total: number) => void,
): Promise<number> {
  if (range.from % RING !== 0 || range.to % RING !== 0 || range.to < range.from)
    throw new Error(`seed whole rings of ${RING} users, not [${range.from}, ${range.to})`);
  const total = (range.to - range.from) * ITEMS_PER_USER;
  const batches = batchesOf(range, new Date());
  let written = 0;
  let reported = 0;
  const worker = async () => {
    for (let next = batches.next(); next.done !== true; next = batches.next()) {
      await putAll(client, tableName, next.value);
      written += next.value.length;
      const tenths = Math.floor((written * 10) / total);
      if (tenths > reported) {
        reported = tenths;
        onProgress?.(written, total);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_BATCHES }, worker));
  return written;
}

/** The range's items, 25 at a time: built as the writers ask, never all held at once. */
function* batchesOf(range: SeedRange, at: Date): Generator<Item[]> {
  let batch: Item[] = [];
  for (let k = range.from; k < range.to; k++) {
    for (const item of otherUserItems(k, at)) {
      batch.push(item);
      if (batch.length === BATCH_WRITE_LIMIT) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length > 0) yield batch;
}

async function putAll(client: DynamoDBDocumentClient, tableName: string, items: Item[]): Promise<void> {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  for (const delay of [0, ...UNPROCESSED_RETRY_DELAYS_MS]) {
    if (delay > 0) await sleep(delay);
    const output = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
    const unprocessed = output.UnprocessedItems?.[tableName] ?? [];
    if (unprocessed.length === 0) return;
    pending = unprocessed.map((request) => ({ PutRequest: { Item: request.PutRequest?.Item ?? {} } }));
  }
  throw new Error(`BatchWriteItem left ${pending.length} item(s) unprocessed after retries`);
}
