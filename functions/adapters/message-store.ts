/**
 * Message items (`CONV#{id}` / `MSG#{seq}`) and send receipts (`SENT#{sender}#{clientMessageId}`).
 *
 * Two guarantees live here, both in DynamoDB conditions rather than read-then-write:
 * - idempotent send: the receipt is put first, with `attribute_not_exists`, and names the message id and
 *   the one `seq` its message may be put at; the message is put at that `seq` only, and the receipt's
 *   `seq` moves (a conditional update) only once another message was seen at it. So one
 *   (sender, clientMessageId) commits at most one message, however many retries race, and a retry
 *   after a crash between the two puts finishes what the first attempt began;
 * - gapless `seq`: message N+1 is only ever attempted after message N was seen to exist (a strongly
 *   consistent read, or a failed condition that returned it), and is put with `attribute_not_exists`,
 *   so two writers never share a `seq` and no `seq` is skipped.
 * Two single-item puts (1 WRU each) rather than one transaction of both (2 WRU each): a 1:1 message
 * stays within architecture.md's 8 WRU now that sending also moves the sender's read cursor.
 */

import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { SYSTEM_SENDER } from '../../definitions/server-api.ts';
import { InternalError } from '../domain/errors.ts';
import type { StoredAttachment, StoredMessage } from '../domain/model.ts';
import { dynamo, TABLE_NAME } from '../shared/clients/dynamodb.ts';
import { logger } from '../shared/logger.ts';
import { conversationPartition, keys, MESSAGE_PREFIX } from './keys.ts';

type Item = Record<string, unknown>;

export interface NewMessage {
  conversationId: string;
  messageId: string;
  senderId: string;
  /** Display name at send time: the push title. Stored, never sent in frames. */
  senderName: string;
  content: string;
  createdAt: string;
  clientMessageId: string;
  originConnectionId: string;
  /** Uploads attached at send time (functions/domain/attachments.ts); absent without any. */
  attachments?: StoredAttachment[];
}

export interface CommitResult {
  message: Omit<StoredMessage, 'content' | 'originConnectionId'>;
  duplicate: boolean;
}

/**
 * How long a send keeps trying before it answers `internal` (the client then retries with the same
 * clientMessageId). Every lost race means another message of the conversation was committed, so only
 * a conversation written faster than it can commit ever reaches this. Well inside API Gateway's 29 s
 * integration timeout and the send Lambda's timeout.
 */
const COMMIT_DEADLINE_MS = 8_000;
/** Upper bound of the jittered back-off between attempts under contention. */
const MAX_BACKOFF_MS = 4_000;

/** The highest committed `seq` of a conversation, 0 when it has none. Strongly consistent. */
export async function lastSeq(conversationId: string): Promise<number> {
  const { Items } = await dynamo.send(
    new QueryCommand({
      TableName: TABLE_NAME,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :msg)',
      ExpressionAttributeValues: { ':pk': conversationPartition(conversationId), ':msg': MESSAGE_PREFIX },
      ProjectionExpression: 'seq',
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const seq = Items?.[0]?.seq;
  return typeof seq === 'number' ? seq : 0;
}

export async function commitMessage(message: NewMessage): Promise<CommitResult> {
  const deadline = Date.now() + COMMIT_DEADLINE_MS;
  // Another request with this clientMessageId may have put the receipt: its message id and `seq` are
  // the ones to commit (or already committed). The SDK retrying our own put finds our own message id.
  const claim = await claimReceipt(message, (await lastSeq(message.conversationId)) + 1);
  const { receipt } = claim;
  // The receipt's conversation too: a clientMessageId reused elsewhere is the duplicate of the first.
  const committing = {
    ...message,
    conversationId: receipt.conversationId,
    messageId: receipt.messageId,
    createdAt: receipt.createdAt,
  };
  let seq = receipt.seq;
  // Every request of one clientMessageId puts the receipt's message id: this call's own mark tells the
  // message its own first try stored (its answer lost, the SDK's retry finding it) from one a concurrent
  // request of the same clientMessageId stored, which this call must answer as a duplicate.
  const commitId = randomUUID();
  for (let lost = 0; ; lost++) {
    const outcome = await putMessage(committing, seq, commitId);
    // Only the commit that stored the message is not a duplicate (protocol.md): a retry that finishes
    // what a failed first attempt began is that commit; one that finds the message stored is not.
    if (outcome.kind !== 'seq-taken') {
      return { message: { ...receiptFields(committing), seq }, duplicate: outcome.kind === 'found' };
    }
    logger.debug('commit attempt lost', { seq, lost });
    if (Date.now() > deadline) {
      throw new InternalError('the conversation is too busy right now; retry with the same clientMessageId');
    }
    if (lost > 0) {
      // Contention: many writers are after the same `seq`. Spread them out (full jitter, growing with
      // each loss) and aim at the current top rather than climbing one `seq` at a time. Never sleep
      // past the deadline: the Lambda's timeout (10 s) must leave room for the answer.
      const backoff = Math.random() * Math.min(MAX_BACKOFF_MS, 20 * 2 ** Math.min(lost, 8));
      await sleep(Math.min(backoff, deadline - Date.now()));
    }
    // Our `seq` holds another message, so every `seq` up to it exists: the receipt may move past it.
    const next = lost === 0 ? seq + 1 : Math.max(seq + 1, (await lastSeq(committing.conversationId)) + 1);
    seq = await moveReceipt(committing, seq, next);
  }
}

/**
 * The commit of (sender, clientMessageId), when its message is stored: what its duplicate `ack` says.
 * Undefined when there is no receipt, or when the receipt's message is not stored yet (a first attempt
 * that stopped between its two puts, or one still committing): that send has not committed. Strongly
 * consistent reads: the receipt (1 RRU), and only when there is one, its message's id at the receipt's
 * `seq` (where alone it can be put). Only the send hook needs this before a commit
 * (functions/domain/send-message.ts).
 */
export async function committedSend(
  senderId: string,
  clientMessageId: string,
): Promise<CommitResult['message'] | undefined> {
  const { Item: receipt } = await dynamo.send(
    new GetCommand({
      TableName: TABLE_NAME,
      Key: keys.sendReceipt(senderId, clientMessageId),
      ConsistentRead: true,
    }),
  );
  if (receipt === undefined) return undefined;
  const conversationId = String(receipt.conversationId);
  const seq = Number(receipt.seq);
  const { Item: message } = await dynamo.send(
    new GetCommand({
      TableName: TABLE_NAME,
      Key: keys.message(conversationId, seq),
      ProjectionExpression: 'messageId',
      ConsistentRead: true,
    }),
  );
  if (message?.messageId !== receipt.messageId) return undefined;
  return {
    conversationId,
    messageId: String(receipt.messageId),
    senderId,
    createdAt: String(receipt.createdAt),
    clientMessageId,
    seq,
  };
}

interface Receipt {
  conversationId: string;
  messageId: string;
  createdAt: string;
  seq: number;
}

/**
 * Among whose messages a clientMessageId is unique: its sender's; for the app backend's notices
 * (`system`, integration.md), one conversation's, so that a backend may send `welcome` to each.
 */
function receiptKeyOf(message: Pick<NewMessage, 'senderId' | 'clientMessageId' | 'conversationId'>) {
  const owner =
    message.senderId === SYSTEM_SENDER ? `${SYSTEM_SENDER}@${message.conversationId}` : message.senderId;
  return keys.sendReceipt(owner, message.clientMessageId);
}

/** Puts the receipt naming `seq`, or answers the one already there (from the failed condition). */
async function claimReceipt(message: NewMessage, seq: number): Promise<{ receipt: Receipt }> {
  const key = receiptKeyOf(message);
  try {
    await dynamo.send(
      new PutCommand({
        TableName: TABLE_NAME,
        Item: { ...key, type: 'sendReceipt', ...receiptFields(message), seq },
        ConditionExpression: 'attribute_not_exists(PK)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return {
      receipt: {
        conversationId: message.conversationId,
        messageId: message.messageId,
        createdAt: message.createdAt,
        seq,
      },
    };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return { receipt: await readReceipt(key, error.Item) };
  }
}

/**
 * Moves the receipt from `seq` (found taken) to `next`, unless another attempt of this clientMessageId
 * moved it first; answers the `seq` to try now, whichever moved it.
 */
async function moveReceipt(message: NewMessage, seq: number, next: number): Promise<number> {
  const key = receiptKeyOf(message);
  try {
    await dynamo.send(
      new UpdateCommand({
        TableName: TABLE_NAME,
        Key: key,
        UpdateExpression: 'SET seq = :next',
        ConditionExpression: 'seq = :seq AND messageId = :messageId',
        ExpressionAttributeValues: { ':next': next, ':seq': seq, ':messageId': message.messageId },
      }),
    );
    return next;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    return (await readReceipt(key, undefined)).seq;
  }
}

type Outcome = { kind: 'stored' } | { kind: 'found' } | { kind: 'seq-taken' };

/**
 * The message at `seq`: stored by this call, found there already (put by another attempt of this
 * clientMessageId), or another message holds the `seq`. A message found with this call's `commitId` is
 * its own first try's, whose answer was lost (the SDK retried the put).
 */
async function putMessage(message: NewMessage, seq: number, commitId: string): Promise<Outcome> {
  try {
    await dynamo.send(
      new PutCommand({
        TableName: TABLE_NAME,
        Item: { ...keys.message(message.conversationId, seq), type: 'message', ...message, seq, commitId },
        ConditionExpression: 'attribute_not_exists(PK)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { kind: 'stored' };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const holder =
      plainItem(error.Item) ??
      (
        await dynamo.send(
          new GetCommand({
            TableName: TABLE_NAME,
            Key: keys.message(message.conversationId, seq),
            ProjectionExpression: 'messageId, commitId',
            ConsistentRead: true,
          }),
        )
      ).Item;
    if (holder?.messageId !== message.messageId) return { kind: 'seq-taken' };
    return holder.commitId === commitId ? { kind: 'stored' } : { kind: 'found' };
  }
}

function receiptFields(message: NewMessage) {
  return {
    conversationId: message.conversationId,
    messageId: message.messageId,
    senderId: message.senderId,
    createdAt: message.createdAt,
    clientMessageId: message.clientMessageId,
  };
}

/** The receipt's fields, from the failed condition (marshalled) or, failing that, a consistent read. */
async function readReceipt(
  key: { PK: string; SK: string },
  returned: Parameters<typeof unmarshall>[0] | undefined,
): Promise<Receipt> {
  let item = plainItem(returned);
  if (item?.messageId === undefined) {
    ({ Item: item } = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }),
    ));
  }
  if (item === undefined) throw new InternalError('send receipt vanished');
  return {
    conversationId: String(item.conversationId),
    messageId: String(item.messageId),
    createdAt: String(item.createdAt),
    seq: Number(item.seq),
  };
}

/** The item a failed condition returned: lib-dynamodb leaves it as raw attribute values. */
function plainItem(returned: Parameters<typeof unmarshall>[0] | undefined): Item | undefined {
  if (returned === undefined) return undefined;
  try {
    return unmarshall(returned);
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
