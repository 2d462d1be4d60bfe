/**
 * Redelivery of what the delivery on-failure queue holds (docs/delivery.md "Delivery and its failures"), shared by
 * the operators' tool against a deployed stack (admin/queue-commands.ts: SQS, Lambda Invoke) and the
 * local stack's `POST /_local/delivery-failures/redrive` (local/queue/redrive-route.ts). Not part of any
 * Lambda: every I/O is a port the caller provides.
 *
 * An entry is redelivered by running the delivery handler again on stream records rebuilt from what the
 * entry names: for the handler's own entries (a message, a read, a conversation) the item as the table
 * holds it now, as the `INSERT`/`MODIFY` record the stream filter lets through (definitions/stream.ts);
 * for a stream pointer of a batch the event source mapping gave up, the records of that sequence range
 * read back from the stream (24 hours of retention). Every rebuilt record's `eventID` starts with
 * `redrive:`, so the handler reports a failure instead of recording the message in the queue again
 * (functions/stream/settle.ts), and the entry is removed only once the handler answered with no failure.
 * Redelivery is safe to repeat: clients keep one frame per `messageId`, push receipts keep pushes at
 * most once per (message, device), and the unread bookkeeping only moves forward.
 */
import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { type ItemKey, keys } from '../functions/adapters/keys.ts';
import type { FailedDelivery, FailureDetail } from '../functions/delivery/failed-delivery.ts';
import { REDRIVE_EVENT_ID_PREFIX } from '../functions/stream/records.ts';

/** What the event source mapping sends to an SQS on-failure destination for a stream batch (AWS's format). */
export interface StreamBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly approximateArrivalOfFirstRecord?: string;
  readonly approximateArrivalOfLastRecord?: string;
  readonly batchSize?: number;
  readonly streamArn: string;
}

export type FailureEntry =
  | { readonly kind: 'delivery'; readonly delivery: FailedDelivery }
  | {
      readonly kind: 'batch';
      readonly batch: StreamBatchInfo;
      /** `RetryAttemptsExhausted` or `RecordAgeExceeded`. */
      readonly condition: string | undefined;
      readonly invokeCount: number | undefined;
      readonly recordedAt: string | undefined;
    }
  | { readonly kind: 'unknown'; readonly reason: string };

/** One message of the queue, as the queue holds it. */
export interface QueuedFailure {
  /** The SQS MessageId, or the local queue's entry id. */
  readonly id: string;
  readonly body: string;
  readonly queuedAt?: string;
}

export interface RedriveQueue {
  /** Up to `max` entries this run has not seen yet; none when the queue has nothing more to give. */
  receive(max: number): Promise<readonly QueuedFailure[]>;
  remove(entry: QueuedFailure): Promise<void>;
  /** Once at the end, with every entry received and left in the queue (SQS: visible again at once). */
  release(entries: readonly QueuedFailure[]): Promise<void>;
}

export type StreamRead = { readonly records: DynamoDBRecord[] } | { readonly unreadable: string };

export interface RedriveSources {
  /** The item as the table holds it now (strongly consistent), or undefined. */
  readItem(key: ItemKey): Promise<Record<string, unknown> | undefined>;
  /** The records of the batch's sequence range the delivery filter lets through, Lambda-shaped. */
  readStream(batch: StreamBatchInfo): Promise<StreamRead>;
}

export type DeliveryOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };
/** Runs the delivery handler on the event; a thrown error counts as a failed redelivery. */
export type InvokeDelivery = (event: DynamoDBStreamEvent) => Promise<DeliveryOutcome>;

export type RedriveOutcome = 'redelivered' | 'would_redeliver' | 'failed' | 'not_redeliverable';

export interface RedriveResult {
  readonly id: string;
  readonly queuedAt?: string;
  /** What the entry names, short: `message {conversationId} seq {seq} messageId {id}`, a stream range. */
  readonly subject: string;
  readonly description: string;
  readonly outcome: RedriveOutcome;
  /** Where the records came from: the items now in the table, or the stream. */
  readonly from?: 'table' | 'stream';
  readonly records: number;
  /** Why it failed or cannot be redelivered, or a note on success. */
  readonly reason?: string;
  /** The `eventID`s of the records run, to find the delivery function's log lines. */
  readonly eventIds?: readonly string[];
}

export interface RedriveOptions {
  readonly queue: RedriveQueue;
  readonly sources: RedriveSources;
  readonly invoke: InvokeDelivery;
  readonly limit: number;
  /** Read what would be redelivered, but invoke nothing and remove nothing. */
  readonly dryRun: boolean;
  readonly now?: () => Date;
  readonly newId?: () => string;
  /**
   * How long to wait before the second and last try of the entries whose redelivery failed (default
   * RETRY_FAILED_AFTER_MS; 0: no second try). Tests pass a fake `sleep`.
   */
  readonly retryFailedAfterMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A redelivery fails for a moment when a recipient's connection answers 410 inside the `$connect`
 * window (functions/delivery/fanout.ts: 5 s after `$connect` stored it; a socket lost just after
 * connecting looks the same), or when a call is throttled. Delivery on the stream retries these; a
 * redrive tries its failed entries once more after the window, so that one such moment does not leave
 * an entry behind (the chaos runs saw it: sockets lost just before the redrive).
 */
export const RETRY_FAILED_AFTER_MS = 6_000;

/** Entries per receive: SQS's maximum. */
const PAGE = 10;
/** Under Lambda's 6 MB synchronous payload limit, with room for the JSON around the records. */
const MAX_EVENT_BYTES = 5_000_000;

export function parseFailureBody(body: string): FailureEntry {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: 'unknown', reason: `not JSON: ${JSON.stringify(body.slice(0, 60))}` };
  }
  return parseFailureEntry(value);
}

export function parseFailureEntry(value: unknown): FailureEntry {
  if (!isRecord(value)) return { kind: 'unknown', reason: 'not a JSON object' };
  if (value.source === 'parley.delivery') {
    const kind = value.kind;
    if (
      value.version !== 1 ||
      (kind !== 'message' &&
        kind !== 'read' &&
        kind !== 'conversation' &&
        kind !== 'messageUpdated' &&
        kind !== 'left' &&
        kind !== 'accepted') ||
      typeof value.conversationId !== 'string'
    ) {
      return { kind: 'unknown', reason: `a parley.delivery entry of an unknown version or kind` };
    }
    return {
      kind: 'delivery',
      delivery: {
        ...(value as unknown as FailedDelivery),
        recipients: stringList(value.recipients),
        failures: Array.isArray(value.failures)
          ? (value.failures.filter(isRecord) as unknown as FailureDetail[])
          : [],
      },
    };
  }
  const info = value.DDBStreamBatchInfo;
  if (isRecord(info)) {
    const { shardId, startSequenceNumber, endSequenceNumber, streamArn } = info;
    if (
      typeof shardId !== 'string' ||
      typeof startSequenceNumber !== 'string' ||
      typeof endSequenceNumber !== 'string' ||
      typeof streamArn !== 'string'
    ) {
      return { kind: 'unknown', reason: 'a stream batch pointer without its shard, range or stream' };
    }
    const context = isRecord(value.requestContext) ? value.requestContext : {};
    return {
      kind: 'batch',
      batch: {
        shardId,
        startSequenceNumber,
        endSequenceNumber,
        streamArn,
        ...(typeof info.approximateArrivalOfFirstRecord === 'string' && {
          approximateArrivalOfFirstRecord: info.approximateArrivalOfFirstRecord,
        }),
        ...(typeof info.approximateArrivalOfLastRecord === 'string' && {
          approximateArrivalOfLastRecord: info.approximateArrivalOfLastRecord,
        }),
        ...(typeof info.batchSize === 'number' && { batchSize: info.batchSize }),
      },
      condition: typeof context.condition === 'string' ? context.condition : undefined,
      invokeCount:
        typeof context.approximateInvokeCount === 'number' ? context.approximateInvokeCount : undefined,
      recordedAt: typeof value.timestamp === 'string' ? value.timestamp : undefined,
    };
  }
  return { kind: 'unknown', reason: 'neither a parley.delivery entry nor a stream batch pointer' };
}

/** `message` / `read` / `conversation` / `messageUpdated` / `left` for the handler's entries, `batch` for pointers, or `unknown`. */
export function kindOf(entry: FailureEntry): string {
  return entry.kind === 'delivery' ? entry.delivery.kind : entry.kind;
}

/** What the entry names, in a few words: the message, read or conversation, or the stream range. */
export function subjectOf(entry: FailureEntry): string {
  if (entry.kind === 'unknown') return 'unrecognised entry';
  if (entry.kind === 'batch') {
    const { batch } = entry;
    return `stream batch on ${batch.shardId}, sequence numbers ${batch.startSequenceNumber}–${batch.endSequenceNumber}`;
  }
  const d = entry.delivery;
  return d.kind === 'message' || d.kind === 'messageUpdated'
    ? `${d.kind === 'message' ? 'message' : 'update of message'} ${d.conversationId} seq ${d.seq ?? '?'} messageId ${d.messageId ?? '?'}`
    : d.kind === 'read'
      ? `read ${d.conversationId} seq ${d.seq ?? '?'} by ${d.readerId ?? '?'}`
      : d.kind === 'left'
        ? `leave of ${d.conversationId} by ${d.leaverId ?? '?'}`
        : d.kind === 'accepted'
          ? `request ${d.conversationId} accepted by ${d.acceptorId ?? '?'}`
          : `conversation ${d.conversationId}`;
}

/** One readable line (no message content: entries hold none). */
export function describeFailure(entry: FailureEntry): string {
  if (entry.kind === 'unknown') return `unrecognised entry (${entry.reason})`;
  if (entry.kind === 'batch') {
    const { batch } = entry;
    const size = batch.batchSize === undefined ? '' : `${batch.batchSize} record(s), `;
    const arrival = batch.approximateArrivalOfFirstRecord ?? 'unknown';
    const why = [
      entry.condition ?? 'given up',
      ...(entry.invokeCount === undefined ? [] : [`after ${entry.invokeCount} invocation(s)`]),
    ].join(' ');
    return (
      `${subjectOf(entry)} (${size}first written about ${arrival}): ${why}` +
      `${entry.recordedAt ? `, recorded ${entry.recordedAt}` : ''}`
    );
  }
  const d = entry.delivery;
  const what = subjectOf(entry);
  const to = d.recipients.length > 0 ? ` to ${d.recipients.join(', ')}` : '';
  const verdict = d.class === 'gave_up' ? `gave up after ${d.attempts} attempt(s)` : 'failed for good';
  const failures = d.failures.slice(0, 3).map(describeDetail);
  if (d.failures.length > 3) failures.push(`${d.failures.length - 3} more`);
  return `${what}${to}: ${verdict}${failures.length > 0 ? `: ${failures.join('; ')}` : ''}, recorded ${d.recordedAt}`;
}

function describeDetail(detail: FailureDetail): string {
  const target =
    detail.connectionId !== undefined
      ? `connection ${detail.connectionId}`
      : detail.deviceId !== undefined
        ? `device ${detail.deviceId}`
        : undefined;
  return [detail.userId, target, detail.class === 'connecting' ? 'still connecting' : undefined, detail.error]
    .concat(detail.status === undefined ? [] : [String(detail.status)])
    .filter((part): part is string => part !== undefined && part !== '')
    .join(' ');
}

type Rebuilt =
  | { readonly records: DynamoDBRecord[]; readonly from: 'table' | 'stream' }
  | { readonly unavailable: string };

/**
 * The records to run delivery on for an entry: rebuilt from the table's items now (handler entries) or
 * read back from the stream (batch pointers). A pointer names no keys (AWS's `DDBStreamBatchInfo` holds
 * only the shard and sequence numbers), so once its records have left the stream nothing can name the
 * messages any more: they are still in the table, and clients get them with `sync`.
 */
export async function recordsFor(
  entry: FailureEntry,
  sources: RedriveSources,
  ids: { now: () => Date; newId: () => string } = { now: () => new Date(), newId: randomUUID },
): Promise<Rebuilt> {
  if (entry.kind === 'unknown') return { unavailable: `not an entry Parley can redeliver: ${entry.reason}` };
  if (entry.kind === 'batch') {
    const read = await sources.readStream(entry.batch);
    if ('unreadable' in read) {
      return {
        unavailable:
          `the stream no longer has these records (${read.unreadable}), and a stream pointer names no keys to ` +
          'read the messages from the table by: they are in the table, and clients get them with sync',
      };
    }
    return {
      from: 'stream',
      records: read.records.map((record) => ({
        ...record,
        eventID: `${REDRIVE_EVENT_ID_PREFIX}${record.eventID ?? ids.newId()}`,
      })),
    };
  }
  const d = entry.delivery;
  if (d.kind === 'conversation') {
    const item = await sources.readItem(keys.conversation(d.conversationId));
    if (item === undefined) return { unavailable: `conversation ${d.conversationId} is not in the table` };
    return { from: 'table', records: [rebuild('INSERT', item, 1, ids)] };
  }
  if (d.kind === 'left') {
    if (d.leaverId === undefined) return { unavailable: 'the leave entry names no leaver' };
    const key = keys.member(d.conversationId, d.leaverId);
    const member = await sources.readItem(key);
    // A group leave removed the member item: its REMOVE again. A direct conversation's leave is the
    // hidden mark, as it now stands. Either way delivery sends `left` only while the user is still out.
    if (member === undefined) {
      const old = { ...key, type: 'member', conversationId: d.conversationId, userId: d.leaverId };
      return { from: 'table', records: [rebuild('REMOVE', old, 1, ids)] };
    }
    if (typeof member.hiddenUntilSeq !== 'number') {
      return { unavailable: `${d.leaverId} is a member of ${d.conversationId} and has not hidden it` };
    }
    return { from: 'table', records: [rebuild('MODIFY', { ...member, changedBy: 'leave' }, 1, ids)] };
  }
  if (d.kind === 'accepted') {
    if (d.acceptorId === undefined) return { unavailable: 'the accept entry names no acceptor' };
    const member = await sources.readItem(keys.member(d.conversationId, d.acceptorId));
    if (member === undefined || member.pendingRequest === true) {
      return { unavailable: `${d.acceptorId} has no accepted request in ${d.conversationId}` };
    }
    // The acceptor's item as it stands now, as acceptRequest's change: delivery introduces the two
    // users only while presence may flow between them.
    return { from: 'table', records: [rebuild('MODIFY', { ...member, changedBy: 'accept' }, 1, ids)] };
  }
  if (d.seq === undefined) return { unavailable: 'the entry names no seq' };
  if (d.kind === 'message' || d.kind === 'messageUpdated') {
    const item = await sources.readItem(keys.message(d.conversationId, d.seq));
    if (item === undefined)
      return { unavailable: `message ${d.conversationId} seq ${d.seq} is not in the table` };
    if (d.messageId !== undefined && item.messageId !== d.messageId) {
      return { unavailable: `seq ${d.seq} of ${d.conversationId} is another message than the entry names` };
    }
    // An update is redelivered as the message's state now: `messageUpdated` carries all of it.
    return { from: 'table', records: [rebuild(d.kind === 'message' ? 'INSERT' : 'MODIFY', item, 1, ids)] };
  }
  if (d.readerId === undefined) return { unavailable: 'the read entry names no reader' };
  const member = await sources.readItem(keys.member(d.conversationId, d.readerId));
  if (member === undefined || typeof member.readSeq !== 'number') {
    return { unavailable: `${d.readerId} has no read cursor in ${d.conversationId}` };
  }
  // The reader's cursor as it stands now (only ever further than the entry's), as markRead's change:
  // without an old image, any cursor above 0 is news to the handler.
  return { from: 'table', records: [rebuild('MODIFY', { ...member, changedBy: 'read' }, 1, ids)] };
}

/** A stream record of the item's current image, as the event source mapping would hand it over. */
function rebuild(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  item: Record<string, unknown>,
  sequence: number,
  ids: { now: () => Date; newId: () => string },
): DynamoDBRecord {
  type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
  // aws-lambda's stream AttributeValue and the SDK's describe the same wire shape with different types.
  const image = (value: Record<string, unknown>) =>
    marshall(value, { removeUndefinedValues: true }) as Record<string, AttributeValue> as Image;
  return {
    eventID: `${REDRIVE_EVENT_ID_PREFIX}${ids.newId()}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(ids.now().getTime() / 1000),
      Keys: image({ PK: item.PK, SK: item.SK }),
      // A REMOVE has only the item as it was.
      ...(eventName === 'REMOVE' ? { OldImage: image(item) } : { NewImage: image(item) }),
      // Only an identifier within this one event (delivery reports failures by it).
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

/** What a delivery handler's answer means for a redrive: any reported record is a failure. */
export function deliveryOutcome(
  response: DynamoDBBatchResponse | undefined | null,
  event: DynamoDBStreamEvent,
): DeliveryOutcome {
  const failed = response?.batchItemFailures ?? [];
  if (failed.length === 0) return { ok: true };
  return {
    ok: false,
    reason: `delivery failed again on ${failed.length} of ${event.Records.length} record(s) (its error lines name the eventID)`,
  };
}

/**
 * Redelivers up to `limit` entries, one at a time; removes each only once its redelivery succeeded.
 * Those whose redelivery failed are tried once more after `retryFailedAfterMs`.
 */
export async function redrive(options: RedriveOptions): Promise<RedriveResult[]> {
  const ids = { now: options.now ?? (() => new Date()), newId: options.newId ?? randomUUID };
  const results: RedriveResult[] = [];
  const kept: QueuedFailure[] = [];
  try {
    await firstTry(options, ids, results, kept);
    await secondTry(options, ids, results, kept);
  } finally {
    await options.queue.release(kept);
  }
  return results;
}

async function firstTry(
  options: RedriveOptions,
  ids: { now: () => Date; newId: () => string },
  results: RedriveResult[],
  kept: QueuedFailure[],
): Promise<void> {
  const seen = new Set<string>();
  while (results.length < options.limit) {
    const page = await options.queue.receive(Math.min(PAGE, options.limit - results.length));
    const fresh = page.filter((queued) => !seen.has(queued.id));
    if (fresh.length === 0) break;
    for (const queued of fresh) {
      seen.add(queued.id);
      if (results.length >= options.limit) {
        kept.push(queued);
        continue;
      }
      const result = await redriveOne(queued, options, ids);
      results.push(result);
      if (result.outcome !== 'redelivered') kept.push(queued);
    }
  }
}

/** The entries whose redelivery failed, once more after the wait; each result is replaced by the new one. */
async function secondTry(
  options: RedriveOptions,
  ids: { now: () => Date; newId: () => string },
  results: RedriveResult[],
  kept: QueuedFailure[],
): Promise<void> {
  const waitMs = options.retryFailedAfterMs ?? RETRY_FAILED_AFTER_MS;
  const failed = results.flatMap((result, index) => (result.outcome === 'failed' ? [index] : []));
  if (options.dryRun || waitMs <= 0 || failed.length === 0) return;
  await (options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms))))(waitMs);
  for (const index of failed) {
    const first = results[index] as RedriveResult;
    const queued = kept.find((entry) => entry.id === first.id);
    if (queued === undefined) continue;
    const second = await redriveOne(queued, options, ids);
    results[index] = {
      ...second,
      reason:
        second.outcome === 'redelivered'
          ? `redelivered on the second try, ${waitMs / 1000} s after the first failed (${first.reason})`
          : `failed twice, ${waitMs / 1000} s apart: ${second.reason}`,
    };
    if (second.outcome === 'redelivered') kept.splice(kept.indexOf(queued), 1);
  }
}

async function redriveOne(
  queued: QueuedFailure,
  options: RedriveOptions,
  ids: { now: () => Date; newId: () => string },
): Promise<RedriveResult> {
  const entry = parseFailureBody(queued.body);
  const base = {
    id: queued.id,
    ...(queued.queuedAt !== undefined && { queuedAt: queued.queuedAt }),
    subject: subjectOf(entry),
    description: describeFailure(entry),
  };
  let rebuilt: Rebuilt;
  try {
    rebuilt = await recordsFor(entry, options.sources, ids);
  } catch (error) {
    return {
      ...base,
      outcome: 'failed',
      records: 0,
      reason: `could not read what to redeliver: ${errorText(error)}`,
    };
  }
  if ('unavailable' in rebuilt) {
    return { ...base, outcome: 'not_redeliverable', records: 0, reason: rebuilt.unavailable };
  }
  const { records, from } = rebuilt;
  const found = { ...base, from, records: records.length, eventIds: records.map((r) => r.eventID ?? '') };
  const note = records.length === 0 ? { reason: 'no record of that range is one delivery handles' } : {};
  if (options.dryRun) return { ...found, ...note, outcome: 'would_redeliver' };
  for (const chunk of chunks(records)) {
    let outcome: DeliveryOutcome;
    try {
      outcome = await options.invoke({ Records: chunk });
    } catch (error) {
      outcome = { ok: false, reason: `could not run delivery: ${errorText(error)}` };
    }
    if (!outcome.ok) return { ...found, outcome: 'failed', reason: outcome.reason };
  }
  try {
    await options.queue.remove(queued);
  } catch (error) {
    return {
      ...found,
      outcome: 'failed',
      reason: `redelivered, but it could not be removed from the queue (${errorText(error)}): a redrive delivers it again`,
    };
  }
  return { ...found, ...note, outcome: 'redelivered' };
}

/** Records in order, in events under Lambda's synchronous payload limit. */
function chunks(records: readonly DynamoDBRecord[]): DynamoDBRecord[][] {
  const out: DynamoDBRecord[][] = [];
  let current: DynamoDBRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(JSON.stringify(record));
    if (current.length > 0 && bytes + size > MAX_EVENT_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
