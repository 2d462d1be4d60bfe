/**
 * What `leaveConversation` stores (functions/domain/leave-conversation.ts):
 * - a group: the caller out of the conversation item's `members` list and their member item deleted,
 *   in one transaction;
 * - a direct conversation: only a mark on the caller's member item (`hiddenUntilSeq`). The conversation
 *   item of a direct conversation never changes (functions/adapters/known-conversations.ts caches it).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError } from '../domain/errors.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { logger } from '../shared/logger.ts';
import { LEFT_BY } from './changed-by.ts';
import { keys } from './keys.ts';
import { claimVersion, readVersionSlot } from './versioned-change.ts';

/** How long a group leave keeps retrying lost races before it answers `internal`. */
const LEAVE_DEADLINE_MS = 8_000;
/** Upper bound of the jittered back-off after a transaction conflict. */
const MAX_BACKOFF_MS = 500;

export type GroupLeave = { left: true; members: string[] } | { left: false };

/**
 * Removes `userId` from a group, race-free and without a read-modify-write of the whole list:
 * `REMOVE members[i]` conditional on `members[i] = :userId`. The condition names exactly the element
 * being removed, so any concurrent change that shifted the list (another member leaving first) fails it,
 * and this attempt re-reads the list (returned by the failed check) and tries again at the new index;
 * a change that did not touch positions up to `i` cannot make the removal wrong. The member item's
 * delete is in the same transaction, conditional on it still existing: a caller who already left
 * (two leaves of theirs racing) is told so instead of removing someone else. Two members leaving at
 * once thus both end up removed, and neither removal is lost.
 *
 * The member item must exist for the leave to commit. Member items are only ever put by the group's
 * creation, each in a transaction with a check that the conversation item still lists the user
 * (conversation-store.ts): the removal from `members` here is what makes any later put of that
 * creation (a late retry, a completion that read the list before the leave) fail, so the group never
 * comes back into the leaver's list.
 *
 * `members` is the list as last read (strongly consistent). The group keeps its messages even when its
 * last member leaves: nothing removes them yet (no TTL on message items and no retention job); an
 * operator's retention job would be the place.
 */
export async function removeGroupMember(
  conversationId: string,
  userId: string,
  members: readonly string[],
  leftAt: string,
): Promise<GroupLeave> {
  const deadline = Date.now() + LEAVE_DEADLINE_MS;
  let current = [...members];
  for (let lost = 0; ; lost++) {
    const index = current.indexOf(userId);
    if (index < 0) return { left: false };
    const outcome = await tryRemove(conversationId, userId, index, leftAt);
    if (outcome.kind === 'removed') return { left: true, members: current.filter((m) => m !== userId) };
    if (outcome.kind === 'gone') return { left: false };
    if (Date.now() > deadline) throw new InternalError('the conversation is too busy right now; retry');
    logger.debug('leave attempt lost', { outcome: outcome.kind, lost });
    if (outcome.kind === 'moved') {
      // The list changed under us (it came back with the failed check): try again at once.
      current = outcome.members;
    } else {
      // A transaction on the same items was in flight: back off, then try the same index again.
      await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 20 * 2 ** Math.min(lost, 5)));
    }
  }
}

type RemoveOutcome =
  | { kind: 'removed' }
  /** The caller's member item is gone: they left already. */
  | { kind: 'gone' }
  /** `members[i]` is no longer the caller: the list as it now stands. */
  | { kind: 'moved'; members: string[] }
  | { kind: 'conflict' };

/**
 * One attempt. The leave is a change members see, so it also claims the conversation's next version
 * (versioned-change.ts) on the same conversation item update, with the check that no newer message
 * was committed meanwhile.
 */
async function tryRemove(
  conversationId: string,
  userId: string,
  index: number,
  leftAt: string,
): Promise<RemoveOutcome> {
  const claim = claimVersion(conversationId, await readVersionSlot(conversationId));
  try {
    await dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: TABLE_NAME,
              Key: keys.conversation(conversationId),
              // `index` is a number we computed, never client input: safe in the expression.
              UpdateExpression: `SET changedBy = :leave, changedAt = :leftAt, leftBy = :userId, ${claim.set} REMOVE members[${index}]`,
              // kind: a direct conversation's members never change (known-conversations.ts).
              ConditionExpression: `kind = :group AND members[${index}] = :userId AND ${claim.condition}`,
              ExpressionAttributeNames: claim.names,
              ExpressionAttributeValues: {
                ':leave': LEFT_BY,
                ':leftAt': leftAt,
                ':userId': userId,
                ':group': 'group',
                ...claim.values,
              },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Delete: {
              TableName: TABLE_NAME,
              Key: keys.member(conversationId, userId),
              ConditionExpression: 'attribute_exists(PK)',
            },
          },
          claim.guard,
        ],
      }),
    );
    return { kind: 'removed' };
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const [conversationReason, memberReason] = error.CancellationReasons ?? [];
    if (memberReason?.Code === 'ConditionalCheckFailed') return { kind: 'gone' };
    if (conversationReason?.Code === 'ConditionalCheckFailed') {
      // lib-dynamodb does not unmarshall cancellation reasons: the item comes as raw attribute values.
      const item = conversationReason.Item === undefined ? undefined : unmarshall(conversationReason.Item);
      const members = Array.isArray(item?.members) ? item.members.map(String) : [];
      if (item?.kind !== 'group') return { kind: 'gone' };
      // Still at its place: the version count moved (another change won), not the list.
      if (members[index] === userId) return { kind: 'conflict' };
      return { kind: 'moved', members };
    }
    const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
    // A message committed after the newest one read (the guard), or a transaction in flight.
    if (codes.includes('TransactionConflict') || codes.includes('ConditionalCheckFailed')) {
      return { kind: 'conflict' };
    }
    throw error;
  }
}

/**
 * Hides a direct conversation from the member's list up to `seq` (the conversation's last seq when they
 * left). Never lowered: of racing leaves the highest mark stays, and a leave that finds the mark already
 * there or beyond writes nothing. `changedBy: 'leave'` keeps the stream filter from taking it for a
 * read (only `changedBy: 'read'` member changes reach delivery). False when the member item is gone.
 */
export async function hideUntilSeq(conversationId: string, userId: string, seq: number): Promise<boolean> {
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: keys.member(conversationId, userId),
        UpdateExpression: 'SET hiddenUntilSeq = :seq, changedBy = :leave',
        ConditionExpression:
          'attribute_exists(PK) AND (attribute_not_exists(hiddenUntilSeq) OR hiddenUntilSeq < :seq)',
        ExpressionAttributeValues: { ':seq': seq, ':leave': LEFT_BY },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return true;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // Hidden as far already (an old image came back), or no member item at all (none came back).
    return error.Item !== undefined;
  }
}
