/**
 * Commits one change of a conversation with its new `version` (functions/domain/versions.ts), in one
 * transaction of three parts:
 * - the conversation item's change count, conditional on the count as read (two changes never share a
 *   version, and they commit in version order);
 * - a check that message `lastSeq + 1` does not exist yet (a message committed meanwhile would have a
 *   greater version than this change: the change is retried in the new message's slot);
 * - the change itself, which stores `version` on the item it changes.
 * A lost race tries again from where the conversation stands: the count that came back with the failed
 * condition, or a fresh read when a message came too or the transaction conflicted. Only the change's
 * own condition (sender, not deleted, limits) ends the attempt, with the item as it stood.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError } from '../domain/errors.ts';
import { nextChange, type VersionSlot } from '../domain/versions.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { VERSION_CHANGED_BY } from './changed-by.ts';
import { keys } from './keys.ts';
import { lastSeq } from './message-store.ts';

type Item = Record<string, unknown>;
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** How long a change keeps retrying lost races before it answers `internal` (the client retries). */
const CHANGE_DEADLINE_MS = 8_000;
const MAX_BACKOFF_MS = 1_000;

/** Where the conversation's changes stand, strongly consistent: its newest seq and change count. */
export async function readVersionSlot(conversationId: string): Promise<VersionSlot> {
  const [seq, { Item }] = await Promise.all([
    lastSeq(conversationId),
    dynamo.send(
      new GetCommand({
        TableName: TABLE_NAME,
        Key: keys.conversation(conversationId),
        ProjectionExpression: 'changeSeq, changeCount',
        ConsistentRead: true,
      }),
    ),
  ]);
  return versionSlotOf(seq, Item);
}

/** The slot from a conversation item's `changeSeq` and `changeCount` and the newest seq. */
export function versionSlotOf(seq: number, conversationItem: Item | undefined): VersionSlot {
  return {
    lastSeq: seq,
    changeSeq: typeof conversationItem?.changeSeq === 'number' ? conversationItem.changeSeq : undefined,
    changeCount: typeof conversationItem?.changeCount === 'number' ? conversationItem.changeCount : 0,
  };
}

/**
 * The parts of an update of the conversation item that claim the next version: merged into an update
 * the caller makes of that item anyway (a leave), or made on their own (versionedChange).
 */
export interface VersionClaim {
  version: number;
  /** Assignments for the update's `SET`. */
  set: string;
  /** Condition on the conversation item: its change count is still the one read. */
  condition: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
  /** The check that no message was committed after the one read as newest. */
  guard: TransactItem;
}

export function claimVersion(conversationId: string, slot: VersionSlot): VersionClaim {
  const next = nextChange(slot);
  const names = { '#changeSeq': 'changeSeq', '#changeCount': 'changeCount' };
  const first = slot.changeSeq === undefined;
  return {
    version: next.version,
    set: '#changeSeq = :changeSeq, #changeCount = :changeCount',
    condition: first
      ? 'attribute_not_exists(#changeSeq)'
      : '#changeSeq = :readChangeSeq AND #changeCount = :readChangeCount',
    names,
    values: {
      ':changeSeq': next.changeSeq,
      ':changeCount': next.changeCount,
      ...(!first && { ':readChangeSeq': slot.changeSeq, ':readChangeCount': slot.changeCount }),
    },
    guard: {
      ConditionCheck: {
        TableName: TABLE_NAME,
        Key: keys.message(conversationId, slot.lastSeq + 1),
        ConditionExpression: 'attribute_not_exists(PK)',
      },
    },
  };
}

export type VersionedOutcome =
  | { committed: true; version: number }
  | { committed: false; old: Item | undefined };

/** An update of an item other than the conversation item, its own condition included. */
export type ItemUpdate = Omit<NonNullable<TransactItem['Update']>, 'ReturnValuesOnConditionCheckFailure'>;

/**
 * Commits `change(version)` with the next version. `committed: false` when the change's own condition
 * failed: `old` is the item as it stood (undefined when it does not exist). Every other failure (the
 * count or the guard moved, a transaction conflict) tries again, within a deadline.
 */
export async function versionedChange(
  conversationId: string,
  change: (version: number) => ItemUpdate,
): Promise<VersionedOutcome> {
  const deadline = Date.now() + CHANGE_DEADLINE_MS;
  let slot: VersionSlot | undefined;
  for (let lost = 0; ; lost++) {
    slot ??= await readVersionSlot(conversationId);
    const claim = claimVersion(conversationId, slot);
    const count = {
      Update: {
        TableName: TABLE_NAME,
        Key: keys.conversation(conversationId),
        // `changedBy` keeps this out of the stream filter's conversation changes (definitions/stream.ts):
        // a message's change reaches members as `messageUpdated`, not as a `conversation` frame.
        UpdateExpression: `SET ${claim.set}, changedBy = :changedBy`,
        ConditionExpression: `attribute_exists(PK) AND ${claim.condition}`,
        ExpressionAttributeNames: claim.names,
        ExpressionAttributeValues: { ...claim.values, ':changedBy': VERSION_CHANGED_BY },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
      },
    };
    const own = {
      Update: { ...change(claim.version), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const },
    };
    try {
      await dynamo.send(new TransactWriteCommand({ TransactItems: [count, claim.guard, own] }));
      return { committed: true, version: claim.version };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [countReason, guardReason, ownReason] = error.CancellationReasons ?? [];
      // lib-dynamodb does not unmarshall cancellation reasons: items come as raw attribute values.
      if (ownReason?.Code === 'ConditionalCheckFailed') {
        return {
          committed: false,
          old: ownReason.Item === undefined ? undefined : unmarshall(ownReason.Item),
        };
      }
      const codes = [countReason, guardReason].map((reason) => reason?.Code ?? 'None');
      if (!codes.every((code) => ['None', 'ConditionalCheckFailed', 'TransactionConflict'].includes(code))) {
        throw error;
      }
      // Another change won the count: its item came back with the failure, so the next attempt needs
      // no read unless a newer message came too (then its seq must be read).
      const counted =
        countReason?.Item === undefined
          ? undefined
          : versionSlotOf(slot.lastSeq, unmarshall(countReason.Item));
      const sameSeq = counted !== undefined && (counted.changeSeq ?? 0) <= slot.lastSeq;
      slot = guardReason?.Code === 'None' && sameSeq ? counted : undefined;
    }
    if (Date.now() > deadline) throw new InternalError('the conversation is too busy right now; retry');
    // Full jitter, growing with each loss: writers racing for one conversation spread out instead of
    // all trying again at once (only one of them can win each round).
    await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, 10 * 2 ** Math.min(lost, 7)));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A change's item, read back strongly consistently (a transaction returns no new image). */
export async function readItem(key: { PK: string; SK: string }): Promise<Item | undefined> {
  const { Item } = await dynamo.send(
    new GetCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }),
  );
  return Item;
}
