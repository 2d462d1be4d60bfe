/**
 * The events function: the table's stream to the stack's EventBridge bus (integration.md, "Events to
 * the backend"; definitions/events.ts says why it is a consumer of its own). Each record that makes an
 * event (functions/events/records.ts) is put on the bus, in batches of up to 10 per PutEvents call;
 * entries that fail are put again (functions/events/publish.ts), and the records of those that still
 * fail are reported in `batchItemFailures`, so that Lambda retries from the first of them. Lambda
 * re-sends the batch's later records with it: their events go out again with the same `id`, which is
 * what at least once means, and what backends deduplicate on. A record that makes no event, or is
 * malformed, is skipped (logged), never failed: one odd item cannot block its shard.
 */
import type {
  Context,
  DynamoDBBatchItemFailure,
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
} from 'aws-lambda';
import { EVENT_CONTENT_SETTING, parseEventContent } from '../../definitions/events.ts';
import { optionalEnv } from '../shared/env.ts';
import { logger, withLogKeys } from '../shared/logger.ts';
import { publishEvents } from './publish.ts';
import { type ParleyEvent, toParleyEvent } from './records.ts';

/** Whether events carry message content: `EVENT_CONTENT`, "true" or "false" (default off). */
export const EVENT_CONTENT = eventContentEnv();

/** Tries of each entry within one invocation, before its record is left to Lambda's retries. */
const ENTRY_ATTEMPTS = 3;
/**
 * Time a round of PutEvents may take in the worst case: 10 calls, 4 at a time, each up to 3 SDK
 * attempts of 3 s (functions/shared/clients/http-options.ts). Another round starts only with this left.
 */
const ROUND_TIME_BUDGET_MS = 32_000;

export async function handler(
  event: DynamoDBStreamEvent,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<DynamoDBBatchResponse> {
  const candidates: { record: DynamoDBRecord; event: ParleyEvent }[] = [];
  for (const record of event.Records) {
    const outcome = toParleyEvent(record, { content: EVENT_CONTENT });
    if (outcome.kind === 'event') {
      candidates.push({ record, event: outcome.event });
      continue;
    }
    withLogKeys({ eventID: record.eventID, sequenceNumber: record.dynamodb?.SequenceNumber }, () => {
      if (outcome.malformed) logger.error('malformed record skipped', { reason: outcome.reason });
      else logger.debug('record skipped', { reason: outcome.reason });
    });
  }
  if (candidates.length === 0) return { batchItemFailures: [] };
  const outcomes = await publishEvents(
    candidates.map((candidate) => candidate.event),
    {
      attempts: ENTRY_ATTEMPTS,
      delayMs: (retry) => 100 * 2 ** (retry - 1) + Math.random() * 100,
      hasTime: () => (context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY) > ROUND_TIME_BUDGET_MS,
    },
  );
  const batchItemFailures: DynamoDBBatchItemFailure[] = [];
  outcomes.forEach((outcome, index) => {
    const candidate = candidates[index];
    if (candidate === undefined) return;
    const { record, event: published } = candidate;
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    // Each line names its record, as delivery's do; ids and codes only, never content.
    withLogKeys({ eventID: record.eventID, sequenceNumber, detailType: published.detailType }, () => {
      if (outcome.contentOmitted) logger.warn('event too large for EventBridge: put without its content');
      if (outcome.error === undefined) {
        logger.info('event published', { attempts: outcome.attempts });
        return;
      }
      logger.warn('event not published; its record will be retried', {
        errorCode: outcome.error,
        attempts: outcome.attempts,
      });
    });
    if (outcome.error === undefined) return;
    // Without a sequence number the failure cannot be pinned to a record: fail the whole batch.
    if (sequenceNumber === undefined) throw new Error('a record to retry has no sequence number');
    batchItemFailures.push({ itemIdentifier: sequenceNumber });
  });
  return { batchItemFailures };
}

function eventContentEnv(): boolean {
  const { env, default: fallback } = EVENT_CONTENT_SETTING;
  const raw = optionalEnv(env);
  if (raw === undefined) return fallback;
  const value = parseEventContent(raw);
  if (value === undefined)
    throw new Error(`Environment variable ${env} must be "true" or "false", got "${raw}"`);
  return value;
}
