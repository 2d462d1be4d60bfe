/**
 * Message items (`CONV#{id}` / `MSG#{seq}`) and send receipts (`SENT#{sender}#{clientMessageId}`).
 *
 * Two guarantees live here, both in DynamoDB conditions rather than read-then-write:
 * - idempotent send: the receipt is put with `attribute_not_exists`, in the same transaction as the
 *   message, so one (sender, clientMessageId) commits at most one message, however many retries race;
 * - gapless `seq`: message N+1 is only ever attempted after message N was seen to exist (a strongly
 *   consistent read, or the cancellation of our own attempt at N), and is put with
 *   `attribute_not_exists`, so two writers never share a `seq` and no `seq` is skipped.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
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
  let seq = (await lastSeq(message.conversationId)) + 1;
  for (let lost = 0; ; lost++) {
    const outcome = await tryCommit(message, seq);
    if (outcome.kind === 'committed')
      return { message: { ...receiptFields(message), seq }, duplicate: false };
    if (outcome.kind === 'duplicate') {
      // Our own commit when the receipt names our message id: the SDK retried a TransactWriteItems that
      // had committed but whose answer timed out. Only the commit that stored the message is not a duplicate.
      return { message: outcome.original, duplicate: outcome.original.messageId !== message.messageId };
    }
    logger.debug('commit attempt lost', { outcome: outcome.kind, seq, lost });
    if (Date.now() > deadline) {
      throw new InternalError('the conversation is too busy right now; retry with the same clientMessageId');
    }
    if (outcome.kind === 'seq-taken' && lost === 0) {
      // Our `seq` exists, so the next one may be attempted at once without risking a gap.
      seq += 1;
      continue;
    }
    // Contention: many writers are after the same `seq`. Spread them out (full jitter, growing with
    // each loss) and aim at the current top rather than climbing one `seq` at a time.
    // Never sleep past the deadline: the Lambda's timeout (10 s) must leave room for the answer.
    const backoff = Math.random() * Math.min(MAX_BACKOFF_MS, 20 * 2 ** Math.min(lost, 8));
    await sleep(Math.min(backoff, deadline - Date.now()));
    if (outcome.kind === 'seq-taken') seq = Math.max(seq + 1, (await lastSeq(message.conversationId)) + 1);
  }
}

type Outcome =
  | { kind: 'committed' }
  | { kind: 'duplicate'; original: CommitResult['message'] }
  | { kind: 'seq-taken' }
  | { kind: 'conflict' };

async function tryCommit(message: NewMessage, seq: number): Promise<Outcome> {
  const receiptKey = keys.sendReceipt(message.senderId, message.clientMessageId);
  try {
    await dynamo.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: TABLE_NAME,
              Item: { ...keys.message(message.conversationId, seq), type: 'message', ...message, seq },
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
          {
            Put: {
              TableName: TABLE_NAME,
              Item: { ...receiptKey, type: 'sendReceipt', ...receiptFields(message), seq },
              ConditionExpression: 'attribute_not_exists(PK)',
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
        ],
      }),
    );
    return { kind: 'committed' };
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const [messageReason, receiptReason] = error.CancellationReasons ?? [];
    if (receiptReason?.Code === 'ConditionalCheckFailed') {
      return { kind: 'duplicate', original: await originalReceipt(receiptKey, receiptReason.Item) };
    }
    if (messageReason?.Code === 'ConditionalCheckFailed') return { kind: 'seq-taken' };
    const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
    if (codes.includes('TransactionConflict')) return { kind: 'conflict' };
    throw error;
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

/** The first commit's fields, from the cancellation (marshalled) or, failing that, a consistent read. */
async function originalReceipt(
  key: { PK: string; SK: string },
  returned: Parameters<typeof unmarshall>[0] | undefined,
): Promise<CommitResult['message']> {
  // lib-dynamodb does not unmarshall cancellation reasons: the item comes as raw attribute values.
  let item: Item | undefined = returned === undefined ? undefined : unmarshall(returned);
  if (item?.messageId === undefined) {
    ({ Item: item } = await dynamo.send(
      new GetCommand({ TableName: TABLE_NAME, Key: key, ConsistentRead: true }),
    ));
  }
  if (item === undefined) throw new InternalError('send receipt vanished');
  return {
    conversationId: String(item.conversationId),
    messageId: String(item.messageId),
    senderId: String(item.senderId),
    createdAt: String(item.createdAt),
    clientMessageId: String(item.clientMessageId),
    seq: Number(item.seq),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
