/**
 * The delivery side of the unread bookkeeping on member items (`CONV#{id}` / `MEMBER#{userId}`), and the
 * sparse `unread` index it feeds: `lastSeq` is the newest seq sent to the member by others, and
 * `unreadOwner` (the index's partition key) is present only while the member has something unread.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { QueryCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { UNREAD_INDEX } from '../../definitions/table.ts';
import type { UnreadEntry } from '../domain/badge.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { conversationPartition, keys } from './keys.ts';

type Item = Record<string, unknown>;

const numberOf = (value: unknown): number => (typeof value === 'number' ? value : 0);

function toEntry(conversationId: string, item: Item): UnreadEntry {
  return { conversationId, lastSeq: numberOf(item.lastSeq), readSeq: numberOf(item.readSeq) };
}

/**
 * Records that message `seq`, created at `activityAt`, was sent to `userId` (which also moves the
 * conversation up in their list: `activityAt` is what the `inbox` index orders by) and, when `reached` (a connection of theirs took the
 * frame), that it was delivered (`deliveredSeq`, the delivery receipt's cursor). Returns the member's
 * cursor as it now stands, or undefined when the member item does not exist. Idempotent: the
 * condition `lastSeq < :seq` makes a replayed record (stream retries) a no-op whose failed check still
 * returns the current item, and an older record arriving late can never move `lastSeq` or
 * `deliveredSeq` backwards.
 */
export async function recordDelivered(
  conversationId: string,
  userId: string,
  seq: number,
  activityAt: string,
  reached: boolean,
): Promise<UnreadEntry | undefined> {
  const key = keys.member(conversationId, userId);
  const delivered = reached ? ', deliveredSeq = :seq' : '';
  // `readSeq < :seq`: a member who already read this far (on another device, or after a sync that
  // ran before this delivery) must not be put back into the unread index.
  const markUnread = await conditionalUpdate(conversationId, {
    TableName: TABLE_NAME,
    Key: key,
    UpdateExpression: `SET lastSeq = :seq, activityAt = :activityAt, unreadOwner = :userId, changedBy = :delivery${delivered}`,
    ConditionExpression: 'attribute_exists(PK) AND lastSeq < :seq AND readSeq < :seq',
    ExpressionAttributeValues: {
      ':seq': seq,
      ':activityAt': activityAt,
      ':userId': userId,
      ':delivery': 'delivery',
    },
    ReturnValues: 'ALL_NEW',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
  if (markUnread.updated || markUnread.entry === undefined) return markUnread.entry;
  if (markUnread.entry.lastSeq < seq) {
    // Read ahead: only `lastSeq` moves, so it stays "the newest seq sent to this member".
    const moveLast = await conditionalUpdate(conversationId, {
      TableName: TABLE_NAME,
      Key: key,
      UpdateExpression: `SET lastSeq = :seq, activityAt = :activityAt, changedBy = :delivery${delivered}`,
      ConditionExpression: 'attribute_exists(PK) AND lastSeq < :seq',
      ExpressionAttributeValues: { ':seq': seq, ':activityAt': activityAt, ':delivery': 'delivery' },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    if (moveLast.updated || !reached) return moveLast.entry;
  } else if (!reached) {
    return markUnread.entry;
  }
  // A retried record whose first attempt counted the message but did not reach a connection: only the
  // delivered cursor can still move (forward only).
  const moveDelivered = await conditionalUpdate(conversationId, {
    TableName: TABLE_NAME,
    Key: key,
    UpdateExpression: 'SET deliveredSeq = :seq, changedBy = :delivery',
    ConditionExpression:
      'attribute_exists(PK) AND (attribute_not_exists(deliveredSeq) OR deliveredSeq < :seq)',
    ExpressionAttributeValues: { ':seq': seq, ':delivery': 'delivery' },
    ReturnValues: 'ALL_NEW',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  });
  return moveDelivered.entry;
}

async function conditionalUpdate(
  conversationId: string,
  input: UpdateCommandInput,
): Promise<{ updated: boolean; entry: UnreadEntry | undefined }> {
  try {
    const { Attributes } = await dynamo.send(new UpdateCommand(input));
    return {
      updated: true,
      entry: Attributes === undefined ? undefined : toEntry(conversationId, Attributes),
    };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return {
      updated: false,
      entry: error.Item === undefined ? undefined : toEntry(conversationId, unmarshall(error.Item)),
    };
  }
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
