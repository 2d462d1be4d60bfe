/** Conversation items (`CONV#{id}` / `META`) and the member items created with them. */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Conversation } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { keys } from './keys.ts';

type Item = Record<string, unknown>;

function toConversation(item: Item): Conversation {
  return {
    conversationId: String(item.conversationId),
    kind: item.kind === 'group' ? 'group' : 'direct',
    members: Array.isArray(item.members) ? item.members.map(String) : [],
    title: typeof item.title === 'string' ? item.title : null,
    createdAt: String(item.createdAt),
  };
}

/**
 * Eventually consistent by default: membership of a conversation changes rarely, and a stale read can
 * only miss a member added in the last second, never let a stranger in (members are never removed).
 * `consistent` for a caller that must tell "not visible yet" from "does not exist".
 */
export async function getConversation(
  conversationId: string,
  options: { consistent?: boolean } = {},
): Promise<Conversation | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: TABLE_NAME,
      Key: keys.conversation(conversationId),
      ...(options.consistent === true && { ConsistentRead: true }),
    }),
  );
  return Item === undefined ? undefined : toConversation(Item);
}

export function memberItem(conversationId: string, userId: string, joinedAt: string): Item {
  return {
    ...keys.member(conversationId, userId),
    type: 'member',
    conversationId,
    userId,
    joinedAt,
    readSeq: 0,
    lastSeq: 0,
    changedBy: 'create',
  };
}

/**
 * Creates the direct conversation and its two member items in one transaction. Racing creators (both
 * users writing first at once) are fine: every item is conditional on not existing, the loser's
 * transaction is cancelled and it reads the winner's conversation.
 */
export async function createDirectConversation(
  conversationId: string,
  creatorId: string,
  otherId: string,
  createdAt: string,
): Promise<Conversation> {
  const conversation: Conversation = {
    conversationId,
    kind: 'direct',
    members: [creatorId, otherId].sort(),
    title: null,
    createdAt,
  };
  const ifNew = 'attribute_not_exists(PK)';
  try {
    await dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: TABLE_NAME,
              Item: {
                ...keys.conversation(conversationId),
                type: 'conversation',
                ...conversation,
                createdBy: creatorId,
              },
              ConditionExpression: ifNew,
            },
          },
          {
            Put: {
              TableName: TABLE_NAME,
              Item: memberItem(conversationId, creatorId, createdAt),
              ConditionExpression: ifNew,
            },
          },
          {
            Put: {
              TableName: TABLE_NAME,
              Item: memberItem(conversationId, otherId, createdAt),
              ConditionExpression: ifNew,
            },
          },
        ],
      }),
    );
    return conversation;
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: keys.conversation(conversationId), ConsistentRead: true }),
    );
    // Cancelled for a conflict with a creator still in flight: let the client retry.
    if (Item === undefined) throw error;
    return toConversation(Item);
  }
}
