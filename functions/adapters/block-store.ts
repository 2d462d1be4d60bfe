/**
 * Blocks (protocol.md 1.2), stored three ways, each where a reader already looks:
 * - `blocks`, a string set on the blocker's state item (`USER#{id}` / `STATE`): the list `listBlocks`
 *   answers, and what sendMessage and createConversation check, since they read the recipients' state
 *   items anyway (to refuse deactivated ones): a block costs a send nothing extra to check;
 * - a `BLOCKEDBY#{blocked}` / `{blocker}` item per block: who blocks a user, for delivery of that user's
 *   group messages, reads and typing (one strongly consistent Query, empty for nearly everyone);
 * - in their direct conversation, if there is one, `blocking` on the blocker's member item and
 *   `blockedByPeer` on the other's: delivery reads both items strongly consistently already, the
 *   blocker's list shows `blocked`, and presence updates are guarded by them.
 * The first two change in one transaction, so the set and the index never disagree.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { BLOCK_BY } from './changed-by.ts';
import { blockedByPartition, keys } from './keys.ts';
import { listBucketOf } from './list-entries.ts';
import { stringSet } from './user-directory.ts';

/** protocol.md 1.2: at most 1000 blocked users per user. */
export const MAX_BLOCKS = 1000;

/** Adds `blockedId` to the blocker's blocks; 'full' when they block 1000 others already. Idempotent. */
export async function addBlock(blockerId: string, blockedId: string, at: string): Promise<'added' | 'full'> {
  try {
    await dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: TABLE_NAME,
              Key: keys.userState(blockerId),
              UpdateExpression: 'SET #type = :type ADD blocks :blocked',
              // Blocking someone blocked already is not one more.
              ConditionExpression:
                'attribute_not_exists(blocks) OR size(blocks) < :max OR contains(blocks, :blockedId)',
              ExpressionAttributeNames: { '#type': 'type' },
              ExpressionAttributeValues: {
                ':type': 'userState',
                ':blocked': new Set([blockedId]),
                ':blockedId': blockedId,
                ':max': MAX_BLOCKS,
              },
            },
          },
          {
            Put: {
              TableName: TABLE_NAME,
              Item: { ...keys.blockedBy(blockedId, blockerId), type: 'blockedBy', blockerId, blockedId, at },
            },
          },
        ],
      }),
    );
    return 'added';
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    if (error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return 'full';
    throw error;
  }
}

/** Takes `blockedId` out of the blocker's blocks. Idempotent: unblocking someone not blocked does nothing. */
export async function removeBlock(blockerId: string, blockedId: string): Promise<void> {
  await dynamo
    .send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: TABLE_NAME,
              Key: keys.userState(blockerId),
              UpdateExpression: 'DELETE blocks :blocked',
              // Never creates a state item that would hold nothing.
              ConditionExpression: 'attribute_exists(PK)',
              ExpressionAttributeValues: { ':blocked': new Set([blockedId]) },
            },
          },
          { Delete: { TableName: TABLE_NAME, Key: keys.blockedBy(blockedId, blockerId) } },
        ],
      }),
    )
    .catch((error: unknown) => {
      // No state item: nobody was ever blocked, and there is no BLOCKEDBY item either.
      if (
        error instanceof TransactionCanceledException &&
        error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
      ) {
        return;
      }
      throw error;
    });
}

/** The users `userId` blocks, strongly consistent (`listBlocks`, and sync's hiding of their messages). */
export async function readBlocks(userId: string): Promise<ReadonlySet<string>> {
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: TABLE_NAME,
      Key: keys.userState(userId),
      ProjectionExpression: 'blocks',
      ConsistentRead: true,
    }),
  );
  return stringSet(Item?.blocks);
}

/**
 * Who blocks `userId`, strongly consistent: once `block` is acked, delivery of anything later never
 * misses it (architecture.md guarantee 12). One Query of a partition that is empty for nearly everyone.
 */
export async function readBlockers(userId: string): Promise<ReadonlySet<string>> {
  const blockers = new Set<string>();
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': blockedByPartition(userId) },
        ProjectionExpression: 'SK',
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) blockers.add(String(item.SK));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return blockers;
}

/**
 * Marks (or unmarks) a block on the two member items of the users' direct conversation, when it exists.
 * The blocker's entry moves, so that their other devices' lists show `blocked`, and forgets the other
 * user's presence (none flows while blocked). The blocked user's entry keeps its place: they see
 * nothing new.
 */
export async function markDirectBlock(
  conversationId: string,
  blockerId: string,
  blockedId: string,
  on: boolean,
  at: string,
): Promise<void> {
  const move = { ':changedAt': at, ':listAt': listBucketOf(at), ':by': BLOCK_BY };
  await Promise.all([
    updateIfMember(
      conversationId,
      blockerId,
      on
        ? 'SET blocking = :true, changedAt = :changedAt, listAt = :listAt, changedBy = :by REMOVE peerStatus, peerLastSeen, peerPresenceAt'
        : 'SET changedAt = :changedAt, listAt = :listAt, changedBy = :by REMOVE blocking',
      on ? { ...move, ':true': true } : move,
    ),
    updateIfMember(
      conversationId,
      blockedId,
      on ? 'SET blockedByPeer = :true, changedBy = :by' : 'SET changedBy = :by REMOVE blockedByPeer',
      on ? { ':true': true, ':by': BLOCK_BY } : { ':by': BLOCK_BY },
    ),
  ]);
}

async function updateIfMember(
  conversationId: string,
  userId: string,
  expression: string,
  values: Record<string, unknown>,
): Promise<void> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.member(conversationId, userId),
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
