/** Reading a conversation's committed messages (`CONV#{id}` / `MSG#{seq}`) in `seq` order. */
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CHANGES_INDEX } from '../../definitions/table.ts';
import type { StoredMessage } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { attachmentsOf } from './attachment-item.ts';
import { conversationPartition, keys } from './keys.ts';
import { lifecycleOf } from './message-item.ts';

type Item = Record<string, unknown>;

export interface MessageChunk {
  messages: StoredMessage[];
  /** Where the next chunk starts; undefined when the range is exhausted. */
  next: Item | undefined;
}

/** The highest seq a message key can have (12 digits, keys.ts). */
const LAST_MESSAGE_KEY = keys.message('', 999_999_999_999).SK;

/**
 * Up to `limit` messages with `seq` > `afterSeq`, ascending, strongly consistent: a message whose `ack`
 * its sender holds is always read (and, `seq`s being committed in order, so is every one before it).
 */
export async function readMessagesAfter(
  conversationId: string,
  afterSeq: number,
  limit: number,
  startKey?: Item,
): Promise<MessageChunk> {
  const { Items = [], LastEvaluatedKey } = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': conversationPartition(conversationId),
        ':from': keys.message(conversationId, afterSeq + 1).SK,
        ':to': LAST_MESSAGE_KEY,
      },
      ConsistentRead: true,
      Limit: limit,
      ExclusiveStartKey: startKey,
    }),
  );
  return {
    messages: Items.map(toStoredMessage),
    next: LastEvaluatedKey,
  };
}

/**
 * (1.2) The newest `limit` messages, newest first, strongly consistent: what a report of a whole
 * conversation copies (functions/domain/report.ts). One Query, `limit` items.
 */
export async function readLatestMessages(conversationId: string, limit: number): Promise<StoredMessage[]> {
  const { Items = [] } = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': conversationPartition(conversationId),
        ':from': keys.message(conversationId, 1).SK,
        ':to': LAST_MESSAGE_KEY,
      },
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: limit,
    }),
  );
  return Items.map(toStoredMessage);
}

/** (1.2) The message at `seq` (a tombstone included), strongly consistent; undefined when there is none. */
export async function readMessageAt(conversationId: string, seq: number): Promise<StoredMessage | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.message(conversationId, seq), ConsistentRead: true }),
  );
  return Item === undefined ? undefined : toStoredMessage(Item);
}

function toStoredMessage(item: Item): StoredMessage {
  return {
    conversationId: String(item.conversationId),
    seq: Number(item.seq),
    messageId: String(item.messageId),
    senderId: String(item.senderId),
    content: String(item.content),
    createdAt: String(item.createdAt),
    clientMessageId: String(item.clientMessageId),
    originConnectionId: typeof item.originConnectionId === 'string' ? item.originConnectionId : undefined,
    ...lifecycleOf(item),
    ...attachmentsOf(item),
  };
}

/**
 * Messages with `seq` > `afterSeq` in seq order, until at least `want` that never changed (no
 * `version`: versions.ts) are found or the conversation ends. Changed ones are read too (and returned):
 * `lastReadSeq` is the newest seq seen, which tells sync-changes.ts which messages surely existed when
 * this read ran. `more` when the conversation goes on beyond it.
 */
export async function readMessagesFrom(
  conversationId: string,
  afterSeq: number,
  want: number,
): Promise<{ messages: StoredMessage[]; lastReadSeq: number; more: boolean }> {
  const messages: StoredMessage[] = [];
  let unchanged = 0;
  let startKey: Item | undefined;
  do {
    const chunk = await readMessagesAfter(conversationId, afterSeq, want, startKey);
    messages.push(...chunk.messages);
    unchanged += chunk.messages.filter((message) => message.version === undefined).length;
    startKey = chunk.next;
  } while (startKey !== undefined && unchanged < want);
  return { messages, lastReadSeq: messages.at(-1)?.seq ?? afterSeq, more: startKey !== undefined };
}

/**
 * Messages whose stored `version` (their latest change) is above `afterVersion`, ascending by version,
 * from the sparse `changes` index: a local index, so strongly consistent like the table.
 */
export async function readChangedAfter(
  conversationId: string,
  afterVersion: number,
  limit: number,
): Promise<{ messages: StoredMessage[]; more: boolean }> {
  const { Items = [], LastEvaluatedKey } = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      IndexName: CHANGES_INDEX,
      KeyConditionExpression: 'PK = :pk AND version > :after',
      ExpressionAttributeValues: { ':pk': conversationPartition(conversationId), ':after': afterVersion },
      ConsistentRead: true,
      Limit: limit,
    }),
  );
  return { messages: Items.map(toStoredMessage), more: LastEvaluatedKey !== undefined };
}
