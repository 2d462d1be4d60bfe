/**
 * Member items (`CONV#{id}` / `MEMBER#{userId}`): the read cursor (`readSeq`, `readAt`) and, kept by
 * the delivery Lambda, `lastSeq` (newest seq sent to this member by others). `unreadOwner` is set only
 * while lastSeq > readSeq, which makes the `unread` index sparse (see definitions/table.ts).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError } from '../domain/errors.ts';
import type { MemberCursor } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { batchGetItems } from './batch-get.ts';
import { IMPLICIT_READ_BY } from './changed-by.ts';
import { conversationPartition, keys, MEMBER_PREFIX } from './keys.ts';
import { listBucketOf } from './list-entries.ts';

type Item = Record<string, unknown>;

export function toMemberCursor(item: Item): MemberCursor {
  return {
    conversationId: String(item.conversationId),
    userId: String(item.userId),
    readSeq: typeof item.readSeq === 'number' ? item.readSeq : 0,
    readAt: typeof item.readAt === 'string' ? item.readAt : undefined,
    lastSeq: typeof item.lastSeq === 'number' ? item.lastSeq : 0,
    ...(typeof item.deliveredSeq === 'number' && { deliveredSeq: item.deliveredSeq }),
    ...(typeof item.hiddenUntilSeq === 'number' && { hiddenUntilSeq: item.hiddenUntilSeq }),
    ...(item.blocking === true && { blocking: true }),
    ...(item.blockedByPeer === true && { blockedByPeer: true }),
    ...(item.sent === true && { sent: true }),
    ...(item.peerSent === true && { peerSent: true }),
    ...(typeof item.peer === 'string' && { peer: item.peer }),
    ...(item.pendingRequest === true && { request: true }),
  };
}

/** Strongly consistent: the read cursor is about to be moved relative to it. */
export async function getMember(conversationId: string, userId: string): Promise<MemberCursor | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.member(conversationId, userId), ConsistentRead: true }),
  );
  return Item === undefined ? undefined : toMemberCursor(Item);
}

/**
 * Member items of several conversations at once (one BatchGetItem per 100), strongly consistent; the
 * ones that do not exist are left out.
 */
export async function getMembers(
  wanted: readonly { conversationId: string; userId: string }[],
): Promise<MemberCursor[]> {
  const items = await batchGetItems(
    wanted.map(({ conversationId, userId }) => keys.member(conversationId, userId)),
    { consistent: true },
  );
  return items.map(toMemberCursor);
}

/**
 * Every member item of a conversation, strongly consistent (one Query of the conversation's `MEMBER#`
 * items): what delivery reads to learn which members of a direct conversation hid it
 * (leaveConversation), where a replica's lag would let a frame through after the ack. Two small items
 * for a direct conversation: 1 RRU.
 */
export async function listMemberCursors(
  conversationId: string,
  options: { consistent: boolean } = { consistent: true },
): Promise<MemberCursor[]> {
  const cursors: MemberCursor[] = [];
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :member)',
        ExpressionAttributeValues: { ':pk': conversationPartition(conversationId), ':member': MEMBER_PREFIX },
        ConsistentRead: options.consistent,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) cursors.push(toMemberCursor(item));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return cursors;
}

export type AdvanceResult = { moved: true; cursor: MemberCursor } | { moved: false; cursor: MemberCursor };

const MAX_ATTEMPTS = 5;

/**
 * Moves the read cursor forward to `seq`, never backwards: the condition `readSeq < :seq` makes
 * concurrent markReads commute (the highest wins, whatever the order). `lastSeq` is compared too, so
 * the decision to drop the member from the unread index is made against the value it was based on; a
 * delivery that moved `lastSeq` meanwhile makes us re-read and decide again.
 */
export async function advanceReadCursor(
  member: MemberCursor,
  seq: number,
  readAt: string,
): Promise<AdvanceResult> {
  let current = member;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    if (current.readSeq >= seq) return { moved: false, cursor: current };
    const caughtUp = seq >= current.lastSeq;
    try {
      await dynamo.send(
        new UpdateCommand({
          TableName: TABLE_NAME,
          Key: keys.member(member.conversationId, member.userId),
          // The entry moves up in the reader's list: their other devices' unread counts changed.
          UpdateExpression: `SET readSeq = :seq, readAt = :readAt, changedAt = :readAt, listAt = :listAt, changedBy = :read${caughtUp ? ' REMOVE unreadOwner' : ''}`,
          ConditionExpression: 'attribute_exists(PK) AND readSeq < :seq AND lastSeq = :lastSeq',
          ExpressionAttributeValues: {
            ':seq': seq,
            ':readAt': readAt,
            ':listAt': listBucketOf(readAt),
            ':read': 'read',
            ':lastSeq': current.lastSeq,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { moved: true, cursor: { ...current, readSeq: seq, readAt } };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || error.Item === undefined) throw error;
      current = toMemberCursor(unmarshall(error.Item));
    }
  }
  throw new InternalError('read cursor is too busy right now; retry');
}

/**
 * Moves `userId`'s read cursor forward to `seq` without reading the member item first: sending a message
 * reads what came before it, and so does hiding a direct conversation (protocol.md 1.2). One conditional
 * update in the usual case; the member leaves the unread index when nothing from others is above `seq`.
 * Never backwards (a cursor already there is left alone), and a member item that does not exist is
 * left alone too. `changedBy` keeps it out of the stream filter: no `read` frame goes out.
 */
export async function readUpTo(
  conversationId: string,
  userId: string,
  seq: number,
  readAt: string,
): Promise<void> {
  const update = (caughtUp: boolean) =>
    new UpdateCommand({
      TableName: TABLE_NAME,
      Key: keys.member(conversationId, userId),
      UpdateExpression: `SET readSeq = :seq, readAt = :readAt, changedBy = :by${caughtUp ? ' REMOVE unreadOwner' : ''}`,
      ConditionExpression: `attribute_exists(PK) AND readSeq < :seq${caughtUp ? ' AND lastSeq <= :seq' : ''}`,
      ExpressionAttributeValues: { ':seq': seq, ':readAt': readAt, ':by': IMPLICIT_READ_BY },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  try {
    await dynamo.send(update(true));
    return;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const old = error.Item === undefined ? undefined : toMemberCursor(unmarshall(error.Item));
    // No member item, or read this far already: nothing to do. Otherwise others wrote after `seq`:
    // the cursor moves, the member stays in the unread index (lastSeq only grows).
    if (old === undefined || old.readSeq >= seq) return;
  }
  try {
    await dynamo.send(update(false));
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
