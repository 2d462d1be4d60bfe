/**
 * Reads the table's DynamoDB stream the way the Lambda event source mapping does: DescribeStream for the
 * shards, a shard's children only after the shard itself is read to its end and delivered (parents
 * before children), GetRecords in a tight loop so local delivery feels instant, event filtering, and
 * per shard up to `parallelizationFactor` ordered lanes keyed by partition key.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { localLog } from '../log.ts';
import { BatchLane, type BatchSettings, type InvokeBatch, type LaneEvents } from './batch-lane.ts';
import { compileFilters, type FilterPattern, type RecordFilter } from './filter-patterns.ts';
import { toLambdaRecord } from './lambda-records.ts';

export interface StreamConsumerSettings extends BatchSettings {
  readonly startingPosition: 'LATEST' | 'TRIM_HORIZON';
  readonly parallelizationFactor: number;
  readonly filterPatterns: readonly FilterPattern[];
}

export interface StreamPollerOptions {
  /** The consumer function's name, in log lines and on-failure records (default `delivery`). */
  readonly consumer?: string;
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly region: string;
  /** The table's partition key attribute: records with one value share a lane and stay ordered. */
  readonly partitionKey: string;
  readonly settings: StreamConsumerSettings;
  readonly invoke: InvokeBatch;
  /** Wait between empty GetRecords calls on one shard. */
  readonly pollIntervalMs?: number;
  /** How often DescribeStream looks for new shards. */
  readonly shardRefreshMs?: number;
  readonly retryDelayMs?: (attempt: number) => number;
  readonly events?: Partial<LaneEvents>;
  /**
   * The on-failure destination: what the event source mapping sends to its SQS queue when it gives a
   * batch up (a stream pointer in AWS's format, see `onFailureRecord`), besides the loud log line.
   */
  readonly onFailure?: (record: OnFailureRecord) => void;
  /** Called each time the reader waits because more than `MAX_QUEUED` records are queued (tests count it). */
  readonly onBackPressure?: (queued: number) => void;
}

interface ShardState {
  readonly shard: Shard;
  status: 'waiting' | 'reading' | 'done';
  lanes: readonly BatchLane[];
  /** The last record read from the shard. */
  lastSequenceNumber?: string;
  /** Callers of `status()` waiting for a GetRecords that starts after they asked: how many records it read. */
  pollWaiters: ((records: number) => void)[];
}

/** One shard as `GET /_local/stream` shows it. */
export interface ShardStatus {
  readonly shardId: string;
  /** `waiting`: its parent is not delivered yet; `done`: closed and delivered (or skipped at start). */
  readonly status: ShardState['status'];
  readonly lastSequenceNumber: string | null;
  /**
   * Whether a GetRecords that started after the status was asked found nothing new: the reader has
   * every record written before the question (false too when no read finished within 5 s). Null for a
   * shard that is not being read.
   */
  readonly caughtUp: boolean | null;
  /** Records read and not yet delivered, checkpointed or discarded. */
  readonly queuedRecords: number;
  /** Lanes whose batch is being handled by the delivery handler now. */
  readonly invoking: number;
  /** Lanes waiting before retrying a failed batch, and the most attempts any of them has failed. */
  readonly retrying: number;
  readonly attempts: number;
  readonly discardedBatches: number;
}

export interface StreamStatus {
  /** Nothing read is undelivered, nothing is being delivered or waiting for a retry, no shard is behind. */
  readonly idle: boolean;
  readonly shards: readonly ShardStatus[];
  /** Shards DescribeStream lists that the poller has not picked up yet (read within a second). */
  readonly undiscoveredShards: number;
}

/** How long `status()` waits for each shard's fresh read (the reader polls every 25 ms when idle). */
const FRESH_READ_TIMEOUT_MS = 5_000;

/** Records fetched but not yet delivered, per shard, before GetRecords pauses. */
export const MAX_QUEUED = 1_000;

export class StreamPoller {
  readonly #options: StreamPollerOptions;
  readonly #filter: RecordFilter;
  readonly #shards = new Map<string, ShardState>();
  readonly #readers = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #refresher: Promise<void> | undefined;

  constructor(options: StreamPollerOptions) {
    this.#options = options;
    this.#filter = compileFilters(options.settings.filterPatterns);
  }

  /** Resolves once every current shard has its iterator: records written after this are delivered. */
  async start(): Promise<void> {
    const shards = await this.#describe();
    const latest = this.#options.settings.startingPosition === 'LATEST';
    const openAtStart = new Set(
      shards.filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined),
    );
    const iterators = new Map<string, string | undefined>();
    for (const shard of shards) {
      const id = shard.ShardId ?? '';
      // LATEST: only new records count, so shards already closed have nothing to deliver.
      const skip = latest && !openAtStart.has(shard);
      this.#shards.set(id, newShardState(shard, skip ? 'done' : 'waiting'));
      if (latest && !skip) iterators.set(id, await this.#iterator(id, 'LATEST'));
    }
    this.#startReadyShards(iterators);
    this.#refresher = this.#refreshLoop();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#refresher;
    while (this.#readers.size > 0) await Promise.allSettled([...this.#readers]);
  }

  /**
   * What the poller holds and does now, for `GET /_local/stream`: per shard, whether a read that
   * started after this call found anything new, and what its lanes are doing. `idle` means every
   * record written before this call has been delivered or given up, so no more on-failure entries can
   * come from it; a redrive or a check of the queue should wait for it.
   */
  async status(): Promise<StreamStatus> {
    // Asked first, in this same step: the read that answers starts after this call, whatever comes next.
    const asked = [...this.#shards].map(([shardId, state]) => ({
      shardId,
      state,
      fresh: state.status === 'reading' ? this.#freshRead(state) : Promise.resolve(undefined),
    }));
    const listed = await this.#describe().catch(() => []);
    const undiscoveredShards = listed.filter((shard) => !this.#shards.has(shard.ShardId ?? '')).length;
    const shards = await Promise.all(
      asked.map(async ({ shardId, state, fresh }): Promise<ShardStatus> => {
        const read = await fresh;
        const lanes = state.lanes.map((lane) => lane.state);
        return {
          shardId,
          status: state.status,
          lastSequenceNumber: state.lastSequenceNumber ?? null,
          caughtUp: state.status === 'reading' ? read === 0 : null,
          queuedRecords: lanes.reduce((sum, lane) => sum + lane.queued, 0),
          invoking: lanes.filter((lane) => lane.invoking).length,
          retrying: lanes.filter((lane) => lane.retrying).length,
          attempts: Math.max(0, ...lanes.map((lane) => lane.attempts)),
          discardedBatches: lanes.reduce((sum, lane) => sum + lane.discardedBatches, 0),
        };
      }),
    );
    const idle =
      undiscoveredShards === 0 &&
      shards.every(
        (shard) =>
          shard.status !== 'waiting' &&
          shard.caughtUp !== false &&
          shard.queuedRecords === 0 &&
          shard.invoking === 0 &&
          shard.retrying === 0,
      );
    return { idle, shards, undiscoveredShards };
  }

  /** Records read by the shard's first GetRecords that starts from now on (undefined: none within the timeout). */
  #freshRead(state: ShardState): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), FRESH_READ_TIMEOUT_MS);
      state.pollWaiters.push((records) => {
        clearTimeout(timer);
        resolve(records);
      });
    });
  }

  get #consumer(): string {
    return this.#options.consumer ?? 'delivery';
  }

  get #signal(): AbortSignal {
    return this.#abort.signal;
  }

  async #refreshLoop(): Promise<void> {
    while (!this.#signal.aborted) {
      await sleep(this.#options.shardRefreshMs ?? 1_000, undefined, { signal: this.#signal }).catch(
        () => undefined,
      );
      if (this.#signal.aborted) return;
      try {
        for (const shard of await this.#describe()) {
          const id = shard.ShardId ?? '';
          if (!this.#shards.has(id)) this.#shards.set(id, newShardState(shard, 'waiting'));
        }
        this.#startReadyShards(new Map());
      } catch (error) {
        localLog.warn(`stream: DescribeStream failed: ${String(error)}`);
      }
    }
  }

  /** Starts every waiting shard whose parent is read and delivered (or unknown: trimmed away). */
  #startReadyShards(iterators: Map<string, string | undefined>): void {
    for (const [id, state] of this.#shards) {
      if (state.status !== 'waiting') continue;
      const parent = state.shard.ParentShardId;
      const parentState = parent === undefined ? undefined : this.#shards.get(parent);
      if (parentState !== undefined && parentState.status !== 'done') continue;
      state.status = 'reading';
      const reader = this.#read(state, iterators.get(id)).catch((error: unknown) => {
        localLog.error(`stream: shard ${id} reader stopped: ${String(error)}`);
      });
      this.#readers.add(reader);
      reader.finally(() => this.#readers.delete(reader));
    }
  }

  async #read(state: ShardState, startIterator: string | undefined): Promise<void> {
    const id = state.shard.ShardId ?? '';
    const lanes = Array.from({ length: Math.max(1, this.#options.settings.parallelizationFactor) }, () =>
      this.#lane(id),
    );
    state.lanes = lanes;
    let iterator: string | undefined = startIterator ?? (await this.#iterator(id, 'TRIM_HORIZON'));
    let lastSequenceNumber: string | undefined;
    while (iterator !== undefined && !this.#signal.aborted) {
      let response: GetRecordsCommandOutput;
      // Those who asked before this read started: it answers them once its records are in the lanes.
      const waiters = state.pollWaiters.splice(0);
      try {
        response = await this.#options.client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: 1_000 }),
        );
      } catch (error) {
        state.pollWaiters.unshift(...waiters);
        if (
          (error as Error).name === 'ExpiredIteratorException' ||
          (error as Error).name === 'TrimmedDataAccessException'
        ) {
          iterator = await this.#iterator(
            id,
            lastSequenceNumber ? 'AFTER_SEQUENCE_NUMBER' : 'TRIM_HORIZON',
            lastSequenceNumber,
          );
          continue;
        }
        localLog.warn(`stream: GetRecords on ${id} failed: ${String(error)}`);
        await this.#pause(500);
        continue;
      }
      const records = response.Records ?? [];
      lastSequenceNumber = records.at(-1)?.dynamodb?.SequenceNumber ?? lastSequenceNumber;
      state.lastSequenceNumber = lastSequenceNumber;
      // One push per lane and page, so a page's records travel together in one batch.
      const pages = lanes.map((): DynamoDBRecord[] => []);
      for (const record of records) {
        const converted = toLambdaRecord(record, this.#options.streamArn, this.#options.region);
        if (this.#filter(converted))
          pages[laneOf(converted, this.#options.partitionKey, lanes.length)]?.push(converted);
      }
      for (const [i, page] of pages.entries()) {
        if (page.length > 0) lanes[i]?.push(page);
      }
      for (const answer of waiters) answer(records.length);
      iterator = response.NextShardIterator;
      // Back-pressure: no GetRecords while too much is queued. Each turn waits for a lane's queue to
      // shrink (a lane that is already idle must not wake it, or the loop spins and starves delivery).
      for (;;) {
        const queued = lanes.reduce((sum, lane) => sum + lane.queued, 0);
        if (queued <= MAX_QUEUED || this.#signal.aborted) break;
        this.#options.onBackPressure?.(queued);
        await Promise.race(lanes.filter((lane) => lane.queued > 0).map((lane) => lane.shrunk()));
      }
      if (records.length === 0 && iterator !== undefined)
        await this.#pause(this.#options.pollIntervalMs ?? 25);
    }
    await Promise.all(lanes.map((lane) => lane.idle()));
    if (this.#signal.aborted) return;
    // The shard is closed and fully delivered: its children may start.
    state.status = 'done';
    for (const answer of state.pollWaiters.splice(0)) answer(0);
    this.#startReadyShards(new Map());
  }

  #lane(shardId: string): BatchLane {
    const events = this.#options.events;
    return new BatchLane({
      settings: this.#options.settings,
      invoke: this.#options.invoke,
      signal: this.#signal,
      retryDelayMs: this.#options.retryDelayMs ?? ((attempt) => Math.min(100 * 2 ** (attempt - 1), 2_000)),
      events: {
        delivered: events?.delivered ?? (() => undefined),
        failed:
          events?.failed ??
          ((records, error) =>
            localLog.warn(`${this.#consumer}: batch of ${records.length} on ${shardId} failed: ${error}`)),
        discarded:
          events?.discarded ??
          ((records, why) => {
            // Where AWS would send the batch to the on-failure queue: make it impossible to miss.
            for (const record of records) {
              localLog.error(
                `${this.#consumer}: DISCARDED record ${record.dynamodb?.SequenceNumber} keys ${JSON.stringify(record.dynamodb?.Keys)} (${why})`,
              );
            }
            this.#options.onFailure?.(onFailureRecord(records, why, shardId, this.#options));
          }),
      },
    });
  }

  async #iterator(
    shardId: string,
    type: ShardIteratorType,
    sequenceNumber?: string,
  ): Promise<string | undefined> {
    const response = await this.#options.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.#options.streamArn,
        ShardId: shardId,
        ShardIteratorType: type,
        SequenceNumber: sequenceNumber,
      }),
    );
    return response.ShardIterator;
  }

  async #describe(): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const response = await this.#options.client.send(
        new DescribeStreamCommand({
          StreamArn: this.#options.streamArn,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
      );
      shards.push(...(response.StreamDescription?.Shards ?? []));
      exclusiveStartShardId = response.StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return shards;
  }

  async #pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.#signal }).catch(() => undefined);
  }
}

function newShardState(shard: Shard, status: ShardState['status']): ShardState {
  return { shard, status, lanes: [], pollWaiters: [] };
}

/** Records of one partition key always share a lane, so they stay in order. */
function laneOf(record: DynamoDBRecord, partitionKey: string, lanes: number): number {
  if (lanes === 1) return 0;
  const key = JSON.stringify(record.dynamodb?.Keys?.[partitionKey] ?? '');
  return createHash('md5').update(key).digest().readUInt32BE(0) % lanes;
}

/** The record the event source mapping sends to an SQS on-failure destination for a stream batch. */
export interface OnFailureRecord {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded';
    approximateInvokeCount: number;
  };
  responseContext: { statusCode: number; executedVersion: string; functionError: string };
  version: '1.0';
  timestamp: string;
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
}

/** What AWS records for a discarded batch: a pointer into the stream, readable for 24 hours. */
function onFailureRecord(
  records: readonly DynamoDBRecord[],
  why: string,
  shardId: string,
  options: Pick<StreamPollerOptions, 'streamArn' | 'region' | 'consumer'>,
): OnFailureRecord {
  const arrival = (record: DynamoDBRecord | undefined) =>
    new Date((record?.dynamodb?.ApproximateCreationDateTime ?? 0) * 1000).toISOString();
  const account = options.streamArn.split(':')[4] ?? '000000000000';
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: `arn:aws:lambda:${options.region}:${account}:function:${options.consumer ?? 'delivery'}`,
      condition: why.startsWith('older') ? 'RecordAgeExceeded' : 'RetryAttemptsExhausted',
      approximateInvokeCount: 1,
    },
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    version: '1.0',
    timestamp: new Date().toISOString(),
    DDBStreamBatchInfo: {
      shardId,
      startSequenceNumber: records[0]?.dynamodb?.SequenceNumber ?? '',
      endSequenceNumber: records.at(-1)?.dynamodb?.SequenceNumber ?? '',
      approximateArrivalOfFirstRecord: arrival(records[0]),
      approximateArrivalOfLastRecord: arrival(records.at(-1)),
      batchSize: records.length,
      streamArn: options.streamArn,
    },
  };
}
