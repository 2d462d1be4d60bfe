/**
 * Conversation items (`CONV#{id}` / `META`), the member items created with them, and the creation
 * receipts (`CREATED#{creator}#{clientRequestId}`) that make creating a group idempotent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { InternalError } from '../domain/errors.ts';
import { DIRECT_ID_PREFIX } from '../domain/identifiers.ts';
import type { Conversation } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { logger } from '../shared/logger.ts';
import { conversationPartition, keys, MEMBER_PREFIX } from './keys.ts';
import { knownDirectConversations } from './known-conversations.ts';
import { newEntryFields } from './list-entries.ts';

type Item = Record<string, unknown>;

function toConversation(item: Item): Conversation {
  return {
    conversationId: String(item.conversationId),
    kind: item.kind === 'group' ? 'group' : 'direct',
    members: Array.isArray(item.members) ? item.members.map(String) : [],
    title: typeof item.title === 'string' ? item.title : null,
    createdAt: String(item.createdAt),
    ...(typeof item.changeSeq === 'number' && { changeSeq: item.changeSeq }),
    ...(typeof item.changeCount === 'number' && { changeCount: item.changeCount }),
  };
}

/**
 * Eventually consistent by default: membership of a conversation changes rarely. A stale read can miss
 * a member added in the last second, or still list a group member who left in the last second
 * (leaveConversation): authorization reads groups with `consistent` (domain/membership.ts).
 * `consistent` for a caller that must tell "not visible yet" from "does not exist", or who acts on
 * the members as they stand. Only what was
 * found is remembered (known-conversations.ts, direct ones only): a conversation that does not exist
 * yet is read again next time. With `caller`, a conversation remembered without them among its members
 * is read again all the same: answered from memory, a non-member's refusal would come sooner for a
 * conversation that exists than for one that does not, and tell them which (membership.ts).
 */
export async function getConversation(
  conversationId: string,
  options: { consistent?: boolean; caller?: string } = {},
): Promise<Conversation | undefined> {
  const known = knownDirectConversations.get(conversationId);
  if (known !== undefined && (options.caller === undefined || known.members.includes(options.caller))) {
    return known;
  }
  const { Item } = await dynamo.send(
    new GetCommand({
      TableName: TABLE_NAME,
      Key: keys.conversation(conversationId),
      ...(options.consistent === true && { ConsistentRead: true }),
    }),
  );
  const conversation = Item === undefined ? undefined : toConversation(Item);
  // Both must say direct: the id cannot name a group (groups are `grp_…`), and the item is not one.
  if (conversation?.kind === 'direct' && conversationId.startsWith(DIRECT_ID_PREFIX)) {
    knownDirectConversations.set(conversationId, conversation);
  }
  return conversation;
}

/** What a member item's list entry shows of its conversation (adapters/list-entries.ts). */
export type ListedConversation = Pick<Conversation, 'conversationId' | 'kind' | 'members' | 'title'>;

/**
 * A new member item, with its conversation list entry (adapters/list-entries.ts): in a direct
 * conversation `peer` is the other user, so a user's direct contacts (who hear their presence) are one
 * Query of the `inbox` index away.
 */
export function memberItem(conversation: ListedConversation, userId: string, joinedAt: string): Item {
  return {
    ...keys.member(conversation.conversationId, userId),
    type: 'member',
    conversationId: conversation.conversationId,
    userId,
    ...newEntryFields(conversation, userId, joinedAt),
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
  options: {
    creatorBlocks?: boolean;
    /** (1.2) Contact policy `requests`: the conversation is a request for the other user until answered. */
    request?: boolean;
    /** (1.2) Made by the app's backend: accepted for both, so consent is given from the start. */
    accepted?: boolean;
  } = {},
): Promise<Conversation> {
  const conversation: Conversation = {
    conversationId,
    kind: 'direct',
    members: [creatorId, otherId].sort(),
    title: null,
    createdAt,
  };
  const ifNew = 'attribute_not_exists(PK)';
  // No presence in either entry yet: it flows once both users have written (protocol.md 1.2, consent),
  // and delivery introduces it then (functions/delivery/introduce-presence.ts).
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
              Item: {
                ...memberItem(conversation, creatorId, createdAt),
                ...(options.accepted === true && { sent: true, peerSent: true }),
                ...(options.creatorBlocks === true && { blocking: true }),
              },
              ConditionExpression: ifNew,
            },
          },
          {
            Put: {
              TableName: TABLE_NAME,
              Item: {
                ...memberItem(conversation, otherId, createdAt),
                ...(options.accepted === true && { sent: true, peerSent: true }),
                ...(options.creatorBlocks === true && { blockedByPeer: true }),
                ...(options.request === true && { pendingRequest: true }),
              },
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

export interface NewGroup {
  conversationId: string;
  /** Sorted, without duplicates, the creator included (functions/domain/group-rules.ts). */
  members: string[];
  title: string | null;
  createdAt: string;
  createdBy: string;
  clientRequestId: string;
  /**
   * The creating connection: it gets the `conversation` frame as its answer, so delivery skips it. None
   * when the app's backend created it.
   */
  originConnectionId: string | undefined;
}

export interface GroupCreation {
  /** The conversation as first created: the same in every answer to every retry. */
  conversation: Conversation;
  /** True when this (creator, clientRequestId) had already created it. */
  duplicate: boolean;
}

const IF_NEW = 'attribute_not_exists(PK)';
/** How long a creation keeps retrying transaction conflicts before it answers `internal`. */
const CREATE_DEADLINE_MS = 8_000;
/** Upper bound of the jittered back-off between conflicting attempts. */
const MAX_BACKOFF_MS = 1_000;
/** Member puts in flight at once: 100 members are 7 rounds, well inside the route's 10 s. */
const MEMBER_WRITE_PARALLELISM = 16;

/**
 * Creates a group exactly once per (creator, clientRequestId), however many retries race, with
 * conditions rather than read-then-write:
 * 1. the conversation item and the creation receipt in one transaction, both `attribute_not_exists`:
 *    of racing retries (each with its own random id) one commits, the others are cancelled on the
 *    receipt and answer the committed conversation;
 * 2. then the member items, each a conditional put (`attribute_not_exists`, so a retry never resets a
 *    read cursor) in a transaction with a check that the conversation still lists the user (so a put
 *    that comes after that user left cannot bring them back), bounded in parallel. They cannot join
 *    the first transaction: 100 members, the conversation and the receipt are more than
 *    TransactWriteItems' 100 actions.
 * A creation that failed between 1 and 2 (a crash, a throttled put) is healed by the client's retry
 * with the same clientRequestId: it finds the receipt and puts whatever member items are missing before
 * it answers. Until then the conversation exists and delivers (delivery reads its `members`), but a
 * member without a member item has no read cursor.
 */
export async function createGroupConversation(group: NewGroup): Promise<GroupCreation> {
  const deadline = Date.now() + CREATE_DEADLINE_MS;
  for (let lost = 0; ; lost++) {
    const outcome = await tryCreate(group);
    if (outcome.kind === 'created') {
      const conversation = groupOf(group);
      await putMembers(conversation, conversation.members);
      return { conversation, duplicate: false };
    }
    if (outcome.kind === 'duplicate') {
      const conversation = await committedConversation(group, outcome.receipt);
      await completeMembers(conversation);
      return { conversation, duplicate: true };
    }
    logger.debug('conversation creation conflicted', { lost });
    if (Date.now() > deadline) {
      throw new InternalError(
        'creating the conversation kept conflicting; retry with the same clientRequestId',
      );
    }
    const backoff = Math.random() * Math.min(MAX_BACKOFF_MS, 20 * 2 ** Math.min(lost, 8));
    await sleep(Math.min(backoff, Math.max(0, deadline - Date.now())));
  }
}

function groupOf(group: NewGroup): Conversation {
  return {
    conversationId: group.conversationId,
    kind: 'group',
    members: group.members,
    title: group.title,
    createdAt: group.createdAt,
  };
}

type CreateOutcome =
  | { kind: 'created' }
  | { kind: 'duplicate'; receipt: Item | undefined }
  | { kind: 'conflict' };

async function tryCreate(group: NewGroup): Promise<CreateOutcome> {
  try {
    await dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: TABLE_NAME,
              Item: {
                ...keys.conversation(group.conversationId),
                type: 'conversation',
                ...groupOf(group),
                createdBy: group.createdBy,
                originConnectionId: group.originConnectionId,
              },
              ConditionExpression: IF_NEW,
            },
          },
          {
            Put: {
              TableName: TABLE_NAME,
              Item: {
                ...keys.createReceipt(group.createdBy, group.clientRequestId),
                type: 'createReceipt',
                conversationId: group.conversationId,
                createdBy: group.createdBy,
                clientRequestId: group.clientRequestId,
                createdAt: group.createdAt,
              },
              ConditionExpression: IF_NEW,
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
      }),
    );
    return { kind: 'created' };
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const [, receiptReason] = error.CancellationReasons ?? [];
    if (receiptReason?.Code === 'ConditionalCheckFailed') {
      // lib-dynamodb does not unmarshall cancellation reasons: the item comes as raw attribute values.
      return {
        kind: 'duplicate',
        receipt: receiptReason.Item === undefined ? undefined : unmarshall(receiptReason.Item),
      };
    }
    const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
    if (codes.includes('TransactionConflict')) return { kind: 'conflict' };
    throw error;
  }
}

/** The conversation the first commit created, from its receipt (returned, or read back) and its item. */
async function committedConversation(group: NewGroup, returned: Item | undefined): Promise<Conversation> {
  const receiptKey = keys.createReceipt(group.createdBy, group.clientRequestId);
  let receipt = returned;
  if (typeof receipt?.conversationId !== 'string') {
    ({ Item: receipt } = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: receiptKey, ConsistentRead: true }),
    ));
  }
  if (typeof receipt?.conversationId !== 'string') throw new InternalError('creation receipt vanished');
  // Written in the receipt's transaction, so a strongly consistent read always finds it.
  const conversation = await getConversation(receipt.conversationId, { consistent: true });
  if (conversation === undefined)
    throw new InternalError('the conversation of a creation receipt is missing');
  return conversation;
}

/** Puts the member items a half-finished creation left out. */
async function completeMembers(conversation: Conversation): Promise<void> {
  const present = new Set<string>();
  let ExclusiveStartKey: Item | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :member)',
        ExpressionAttributeValues: {
          ':pk': conversationPartition(conversation.conversationId),
          ':member': MEMBER_PREFIX,
        },
        ProjectionExpression: 'userId',
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) present.add(String(item.userId));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  const missing = conversation.members.filter((member) => !present.has(member));
  if (missing.length === 0) return;
  logger.info('completing a conversation creation', { missingMembers: missing.length });
  await putMembers(conversation, missing);
}

/** Attempts of one member put that lost a transaction conflict (another member leaving at that moment). */
const MEMBER_PUT_ATTEMPTS = 4;

/**
 * Every put is tried, even after one failed, so a retry has less to do; the first failure is thrown
 * once all have settled. A member item that exists already (a racing retry wrote it) is left alone.
 *
 * Each put is conditional on the conversation item still listing the user (a ConditionCheck in the
 * same transaction): a leave removes the user from `members` in the transaction that deletes their
 * member item (membership-changes.ts), so no put that arrives later (a slow or retried creation, the
 * SDK's own retry of a put whose answer was lost, a completion that read the list before the leave)
 * can bring the member item back and put the group back in the leaver's list. Transactional writes
 * cost twice a plain put: paid once per member, at creation only.
 */
async function putMembers(conversation: Conversation, userIds: readonly string[]): Promise<void> {
  const failures = await mapConcurrently(userIds, MEMBER_WRITE_PARALLELISM, async (userId) => {
    try {
      await putMemberIfListed(conversation, userId);
      return undefined;
    } catch (error) {
      return error;
    }
  });
  const failed = failures.filter((failure) => failure !== undefined);
  if (failed.length > 0) {
    throw new InternalError(`${failed.length} of ${userIds.length} member items could not be written`, {
      cause: failed[0],
    });
  }
}

/**
 * 'put', or why not: the item exists already, or the user is no longer listed (they left). Also how a
 * group is made whole for a member whose item a failed creation never wrote (protocol.md 1.2): delivery
 * and every membership check put it when the group lists them.
 */
export async function putMemberIfListed(
  conversation: Conversation,
  userId: string,
): Promise<'put' | 'exists' | 'not_listed'> {
  const { conversationId } = conversation;
  for (let attempt = 1; ; attempt++) {
    try {
      await dynamo.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              ConditionCheck: {
                TableName: TABLE_NAME,
                Key: keys.conversation(conversationId),
                ConditionExpression: 'contains(members, :userId)',
                ExpressionAttributeValues: { ':userId': userId },
              },
            },
            {
              Put: {
                TableName: TABLE_NAME,
                Item: memberItem(conversation, userId, conversation.createdAt),
                ConditionExpression: IF_NEW,
              },
            },
          ],
        }),
      );
      return 'put';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [listed, put] = error.CancellationReasons ?? [];
      if (put?.Code === 'ConditionalCheckFailed') return 'exists';
      if (listed?.Code === 'ConditionalCheckFailed') {
        logger.info('member item not put: no longer a member', { conversationId });
        return 'not_listed';
      }
      const conflict = (error.CancellationReasons ?? []).some(
        (reason) => reason.Code === 'TransactionConflict',
      );
      if (!conflict || attempt >= MEMBER_PUT_ATTEMPTS) throw error;
      await sleep(Math.random() * 20 * 2 ** attempt);
    }
  }
}
