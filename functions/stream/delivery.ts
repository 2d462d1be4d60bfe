/**
 * The delivery Lambda, on the table's stream (see definitions/stream.ts). Every record of the batch is
 * tried, and each failure is settled by its class (functions/stream/settle.ts):
 * - permanent (a 403 or 413 from `@connections`, SNS refusing us, a conversation that is gone): recorded
 *   in the on-failure queue by message identity, and skipped;
 * - transient (throttling, 5xx, a connection still inside `$connect`): the record is reported in
 *   `batchItemFailures` and retried, until it has failed `deliveryAttempts` times; then it is recorded
 *   like a permanent failure, so the shard moves on and the message can be redelivered at any age;
 * - a record an operator's redrive rebuilt (`eventID` `redrive:…`, admin/redrive.ts): any
 *   failure is reported in `batchItemFailures`, never counted or recorded again (its entry stays queued).
 * Records of one partition key (one conversation) must reach clients in `seq` order: they are delivered
 * one after another, and after a record is reported for retry, later records of the same conversation
 * are left for that retry (Lambda retries from the lowest reported record). Different conversations of
 * the batch are delivered at the same time, and still delivered when another one fails.
 */
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { failureClass } from '../adapters/aws-errors.ts';
import { closeConnection } from '../adapters/websocket-connections.ts';
import { deliverPresence } from '../delivery/deliver-presence.ts';
import { DeliveredReceipts } from '../delivery/delivered-receipts.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import { logger, withLogKeys } from '../shared/logger.ts';
import { type DeliveryEvent, toDeliveryEvent } from './records.ts';
import { deliverEvent, settle } from './settle.ts';

/** Time a record may need in the worst case (SDK calls time out after 2 s, 3 attempts, a few in a row). */
const RECORD_TIME_BUDGET_MS = 20_000;
/**
 * Conversations (partition keys) delivered at once within a batch. One at a time, a busy shard's
 * batch of 100 waited for 100 × 4 DynamoDB round trips and the posts in a row; each conversation's
 * own records still go in `seq` order. Each record's fan-out is bounded by FANOUT_LIMITS on its own.
 */
const PARTITIONS_IN_PARALLEL = 8;

export async function handler(
  event: DynamoDBStreamEvent,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<DynamoDBBatchResponse> {
  // One `delivered` per (conversation, recipient) for the whole batch, sent once every record was tried.
  const receipts = new DeliveredReceipts();
  const lanes = [...partitionLanes(withoutSupersededUpdates(event.Records)).values()];
  const outcomes = await mapConcurrently(lanes, PARTITIONS_IN_PARALLEL, (records) =>
    deliverLane(records, receipts, context).then(
      (failure) => ({ failure }),
      (error: unknown) => ({ error }),
    ),
  );
  await receipts.flush();
  // An unexpected error fails the whole batch, as it did one record at a time, but only once every
  // lane has stopped: nothing of this invocation keeps running after it returns.
  const crashed = outcomes.find((outcome) => 'error' in outcome);
  if (crashed !== undefined) throw crashed.error;
  return {
    batchItemFailures: outcomes.flatMap((outcome) =>
      'failure' in outcome && outcome.failure !== undefined ? [outcome.failure] : [],
    ),
  };
}

/**
 * One partition key's records (one conversation, or one user's connections), in stream order. The
 * first record that must be retried, or that there is no time left for, is returned and the lane
 * stops: later records of the partition are left for that retry (Lambda retries from the lowest
 * record reported, so other lanes' failures and successes after it are retried too).
 */
async function deliverLane(
  records: readonly DynamoDBRecord[],
  receipts: DeliveredReceipts,
  context: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
): Promise<{ itemIdentifier: string } | undefined> {
  for (const record of records) {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    if ((context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY) < RECORD_TIME_BUDGET_MS) {
      // Not attempted: reporting it makes Lambda retry from here, with a fresh time budget.
      logger.warn('out of time for the batch, leaving the rest for a retry', { sequenceNumber });
      if (sequenceNumber === undefined) throw new Error('out of time and the record has no sequence number');
      return { itemIdentifier: sequenceNumber };
    }
    const verdict = await withLogKeys({ eventID: record.eventID, sequenceNumber }, () =>
      processRecord(record, receipts),
    );
    if (verdict === 'retry') {
      // Without a sequence number the failure cannot be pinned to a record: fail the whole batch.
      if (sequenceNumber === undefined) throw new Error('a record to retry has no sequence number');
      return { itemIdentifier: sequenceNumber };
    }
  }
  return undefined;
}

async function processRecord(record: DynamoDBRecord, receipts: DeliveredReceipts): Promise<'done' | 'retry'> {
  const event = toDeliveryEvent(record);
  if (event.kind === 'skip') {
    if (event.malformed) logger.error('malformed record skipped', { reason: event.reason });
    else logger.debug('record skipped', { reason: event.reason });
    return 'done';
  }
  if (event.kind === 'presence') return processPresence(event);
  if (event.kind === 'close') return processClose(event);
  const keys = logKeysOf(event);
  return withLogKeys(keys, async () => {
    const attempt = await deliverEvent(event);
    if ('report' in attempt) receipts.add(attempt.report.delivered);
    return settle(event, attempt, record.eventID ?? record.dynamodb?.SequenceNumber);
  });
}

/** What names a stored event in the logs (never its content). */
function logKeysOf(event: Parameters<typeof deliverEvent>[0]): Record<string, unknown> {
  switch (event.kind) {
    case 'message':
      return {
        conversationId: event.message.conversationId,
        messageId: event.message.messageId,
        seq: event.message.seq,
      };
    case 'read':
      return { conversationId: event.read.conversationId, readerId: event.read.userId, seq: event.read.seq };
    case 'messageUpdated':
      return {
        conversationId: event.update.conversationId,
        messageId: event.update.messageId,
        seq: event.update.seq,
      };
    case 'conversation':
      return { conversationId: event.conversation.conversationId };
    case 'left':
      return { conversationId: event.conversationId, leaverId: event.userId };
    case 'accepted':
      return { conversationId: event.conversationId, acceptorId: event.userId };
  }
}

/**
 * Presence records retry only while their update could not be made (throttling, DynamoDB failing):
 * the update is idempotent, and until it is made the user's set is behind. The frames are best effort.
 */
async function processPresence(
  event: Extract<DeliveryEvent, { kind: 'presence' }>,
): Promise<'done' | 'retry'> {
  return withLogKeys({ userId: event.userId, connectionId: event.connectionId }, async () => {
    try {
      const report = await deliverPresence({ ...event, kind: event.change });
      if (report.change !== 'none') logger.info('presence delivered', { ...report });
      return 'done';
    } catch (error) {
      const transient = failureClass(error) === 'transient';
      logger[transient ? 'warn' : 'error']('presence update failed', { error, retried: transient });
      return transient ? 'retry' : 'done';
    }
  });
}

/** A connection a frame route asked to close (its token expired); retried until the call is made. */
async function processClose(event: Extract<DeliveryEvent, { kind: 'close' }>): Promise<'done' | 'retry'> {
  return withLogKeys({ userId: event.userId, connectionId: event.connectionId }, async () => {
    try {
      await closeConnection(event.connectionId);
      logger.info('connection closed', { reason: event.reason });
      return 'done';
    } catch (error) {
      const transient = failureClass(error) === 'transient';
      logger[transient ? 'warn' : 'error']('closing a connection failed', { error, retried: transient });
      return transient ? 'retry' : 'done';
    }
  });
}

/**
 * A burst of reactions (or edits) to one message is one MODIFY per change; each new image holds the
 * message's whole state, so only the batch's last one per message is delivered: one `messageUpdated`
 * per member connection instead of one per change. A dropped record's successor is later in the same
 * lane, so any retry that would have covered it covers the successor too.
 */
export function withoutSupersededUpdates(records: readonly DynamoDBRecord[]): DynamoDBRecord[] {
  const lastUpdate = new Map<string, DynamoDBRecord>();
  for (const record of records) {
    const key = messageUpdateKey(record);
    if (key !== undefined) lastUpdate.set(key, record);
  }
  const kept = records.filter((record) => {
    const key = messageUpdateKey(record);
    return key === undefined || lastUpdate.get(key) === record;
  });
  if (kept.length < records.length) {
    logger.info('message updates coalesced', { superseded: records.length - kept.length });
  }
  return kept;
}

function messageUpdateKey(record: DynamoDBRecord): string | undefined {
  const image = record.dynamodb?.NewImage;
  if (record.eventName !== 'MODIFY' || image?.type?.S !== 'message') return undefined;
  const { PK, SK } = record.dynamodb?.Keys ?? {};
  return PK?.S === undefined || SK?.S === undefined ? undefined : `${PK.S}\n${SK.S}`;
}

/** The batch's records by partition key, each list in stream order. */
function partitionLanes(records: readonly DynamoDBRecord[]): Map<string, DynamoDBRecord[]> {
  const lanes = new Map<string, DynamoDBRecord[]>();
  for (const record of records) {
    const partition = partitionOf(record);
    const lane = lanes.get(partition);
    if (lane === undefined) lanes.set(partition, [record]);
    else lane.push(record);
  }
  return lanes;
}

function partitionOf(record: DynamoDBRecord): string {
  const key = record.dynamodb?.Keys?.PK;
  return key?.S ?? JSON.stringify(key ?? null);
}
