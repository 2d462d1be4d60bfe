/**
 * Puts events on the bus in as few PutEvents calls as the limits allow (10 entries, under 256 KB
 * together), and puts again the entries that failed: PutEvents answers 200 even when some entries
 * fail (`FailedEntryCount`, an `ErrorCode` per failed entry: throttling, an internal failure), and a
 * call may fail whole. Only the failed entries are sent again, each with the same detail and so the
 * same `id`. What still fails after `attempts` (or when the invocation runs short of time) is handed
 * back, and the handler reports its records for Lambda to retry (functions/events/handler.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { PUT_EVENTS_LIMITS } from '../../definitions/events.ts';
import { entrySize, putEntries, toEntry } from '../adapters/event-bus.ts';
import { mapConcurrently } from '../shared/concurrency.ts';
import type { ParleyEvent } from './records.ts';

/** PutEvents calls in flight at once: a batch of 100 records is 10 calls. */
const CALLS_IN_PARALLEL = 4;

export interface RetryPolicy {
  /** Tries of each entry, the first included. */
  readonly attempts: number;
  /** Wait before retry `n` (1 for the first retry). */
  readonly delayMs: (retry: number) => number;
  /** Whether the invocation has time for another round. */
  readonly hasTime: () => boolean;
}

/** What became of one event, in the order of the events given. */
export interface PublishOutcome {
  /** EventBridge's last error code for it; undefined once it was put. */
  readonly error: string | undefined;
  /** PutEvents calls that carried it. */
  readonly attempts: number;
  /** Its content was left out to fit EventBridge's 256 KB (never with content off). */
  readonly contentOmitted: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Pending {
  readonly index: number;
  readonly entry: PutEventsRequestEntry;
  readonly size: number;
}

/** Logs nothing: the handler logs each record's outcome with the record's own keys. */
export async function publishEvents(
  events: readonly ParleyEvent[],
  policy: RetryPolicy,
): Promise<PublishOutcome[]> {
  const outcomes: Mutable<PublishOutcome>[] = [];
  let pending: Pending[] = events.map((event, index) => {
    const { entry, omitted } = fitted(event);
    outcomes.push({ error: undefined, attempts: 0, contentOmitted: omitted });
    return { index, entry, size: entrySize(entry) };
  });
  for (let attempt = 1; pending.length > 0; attempt++) {
    const results = await mapConcurrently(batchesOf(pending), CALLS_IN_PARALLEL, async (batch) => {
      try {
        const errors = await putEntries(batch.map((item) => item.entry));
        return batch.map((item, i) => ({ item, error: errors[i] }));
      } catch (error) {
        // The call failed whole (throttled past the SDK's retries, the network, a permission): every
        // entry of it failed.
        const code = error instanceof Error ? error.name : 'Error';
        return batch.map((item) => ({ item, error: code as string | undefined }));
      }
    });
    pending = [];
    for (const { item, error } of results.flat()) {
      const outcome = outcomes[item.index];
      if (outcome === undefined) continue;
      outcome.attempts = attempt;
      outcome.error = error;
      if (error !== undefined) pending.push(item);
    }
    if (pending.length === 0 || attempt >= policy.attempts || !policy.hasTime()) break;
    await sleep(policy.delayMs(attempt));
  }
  return outcomes;
}

/**
 * The entry, or, when it would not fit (only message text or a note can make it that large: 4000
 * characters are 16 KB at most, so this is a safeguard), the entry without them, marked
 * `contentOmitted`.
 */
function fitted(event: ParleyEvent): { entry: PutEventsRequestEntry; omitted: boolean } {
  const entry = toEntry(event);
  if (entrySize(entry) < PUT_EVENTS_LIMITS.bytes) return { entry, omitted: false };
  const { content: _content, note: _note, ...rest } = event.detail;
  return { entry: toEntry({ ...event, detail: { ...rest, contentOmitted: true } }), omitted: true };
}

/** In order, at most 10 entries a batch, and entries adding up to less than 256 KB. */
function batchesOf(items: readonly Pending[]): Pending[][] {
  const batches: Pending[][] = [];
  let batch: Pending[] = [];
  let bytes = 0;
  for (const item of items) {
    if (
      batch.length === PUT_EVENTS_LIMITS.entries ||
      (batch.length > 0 && bytes + item.size >= PUT_EVENTS_LIMITS.bytes)
    ) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += item.size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
