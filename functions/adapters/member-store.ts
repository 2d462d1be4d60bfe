/**
 * Member items (`CONV#{id}` / `MEMBER#{userId}`): the read cursor (`readSeq`, `readAt`) and, kept by
 * the delivery Lambda, `lastSeq` (newest seq sent to this member by others). `unreadOwner` is set only
 * while lastSeq > readSeq, which makes the `unread` index sparse (see definitions/table.ts).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError } from '../domain/errors.ts';
import type { MemberCursor } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { batchGetItems } from './batch-get.ts';
import { keys } from './keys.ts';

type Item = Record<string, unknown>;

function toMemberCursor(item: Item): MemberCursor {
  return {
    conversationId: String(item.conversationId),
    userId: String(item.userId),
    readSeq: typeof item.readSeq === 'number' ? item.readSeq : 0,
    readAt: typeof item.readAt === 'string' ? item.readAt : undefined,
    lastSeq: typeof item.lastSeq === 'number' ? item.lastSeq : 0,
    ...(typeof item.hiddenUntilSeq === 'number' && { hiddenUntilSeq: item.hiddenUntilSeq }),
  };
}

/** Strongly consistent: the read cursor is about to be moved relative to it. */
export async function getMember(conversationId: string, userId: string): Promise<MemberCursor | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: keys.member(conversationId, userId), ConsistentRead: true }),
  );
  return Item === undefined ? undefined : toMemberCursor(Item);
}

/** `userId`'s member items in many conversations at once (BatchGetItem, eventually consistent); by conversation id. */
export async function getMembers(
  userId: string,
  conversationIds: readonly string[],
): Promise<Map<string, MemberCursor>> {
  const items = await batchGetItems(
    conversationIds.map((conversationId) => keys.member(conversationId, userId)),
  );
  return new Map(items.map((item) => [String(item.conversationId), toMemberCursor(item)]));
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
          UpdateExpression: `SET readSeq = :seq, readAt = :readAt, changedBy = :read${caughtUp ? ' REMOVE unreadOwner' : ''}`,
          ConditionExpression: 'attribute_exists(PK) AND readSeq < :seq AND lastSeq = :lastSeq',
          ExpressionAttributeValues: {
            ':seq': seq,
            ':readAt': readAt,
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
