/**
 * One ordered lane of stream records and the event source mapping's retry rules for it:
 * - batches of up to `batchSize` records, in order;
 * - a partial batch failure (`batchItemFailures`) checkpoints before the lowest failed sequence number,
 *   and the next batch starts at that record;
 * - a thrown error (or an unknown item identifier) fails the whole batch: with `bisectBatchOnError` the
 *   batch is halved (halving does not count as a retry), otherwise it is retried whole;
 * - after `retryAttempts` retries, or once a record is older than `maxRecordAgeSeconds`, the records
 *   are discarded with a loud log line naming their keys: where AWS sends them to the on-failure queue.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';

export interface BatchSettings {
  readonly batchSize: number;
  readonly bisectBatchOnError: boolean;
  readonly retryAttempts: number;
  readonly maxRecordAgeSeconds: number;
}

export type InvokeBatch = (records: DynamoDBRecord[]) => Promise<DynamoDBBatchResponse | undefined>;

export interface LaneEvents {
  delivered(records: DynamoDBRecord[], failed: number): void;
  failed(records: DynamoDBRecord[], error: string): void;
  discarded(records: DynamoDBRecord[], why: string): void;
}

type Outcome = { kind: 'ok' } | { kind: 'partial'; index: number } | { kind: 'error'; message: string };

export class BatchLane {
  readonly #settings: BatchSettings;
  readonly #invoke: InvokeBatch;
  readonly #events: LaneEvents;
  readonly #retryDelayMs: (attempt: number) => number;
  readonly #signal: AbortSignal;
  readonly #queue: DynamoDBRecord[] = [];
  #draining: Promise<void> | undefined;

  constructor(options: {
    settings: BatchSettings;
    invoke: InvokeBatch;
    events: LaneEvents;
    retryDelayMs: (attempt: number) => number;
    signal: AbortSignal;
  }) {
    this.#settings = options.settings;
    this.#invoke = options.invoke;
    this.#events = options.events;
    this.#retryDelayMs = options.retryDelayMs;
    this.#signal = options.signal;
  }

  get queued(): number {
    return this.#queue.length;
  }

  push(records: DynamoDBRecord[]): void {
    this.#queue.push(...records);
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Resolves once every queued record is delivered or discarded (or the lane is stopped). */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  async #drain(): Promise<void> {
    let size = this.#settings.batchSize;
    let attempts = 0;
    while (this.#queue.length > 0 && !this.#signal.aborted) {
      this.#discardExpired();
      const batch = this.#queue.slice(0, size);
      if (batch.length === 0) break;
      const outcome = await this.#run(batch);
      if (outcome.kind === 'ok') {
        this.#queue.splice(0, batch.length);
        size = this.#settings.batchSize;
        attempts = 0;
        continue;
      }
      if (outcome.kind === 'partial') {
        // Records before the lowest failure are checkpointed; the failed record leads the retry.
        this.#queue.splice(0, outcome.index);
        attempts = outcome.index > 0 ? 1 : attempts + 1;
      } else if (this.#settings.bisectBatchOnError && batch.length > 1) {
        size = Math.ceil(batch.length / 2);
        continue;
      } else {
        attempts += 1;
      }
      if (attempts > this.#settings.retryAttempts) {
        const dropped = this.#queue.splice(0, Math.min(size, this.#queue.length));
        this.#events.discarded(dropped, `retries exhausted (${this.#settings.retryAttempts})`);
        size = this.#settings.batchSize;
        attempts = 0;
        continue;
      }
      await sleep(this.#retryDelayMs(attempts), undefined, { signal: this.#signal }).catch(() => undefined);
    }
  }

  async #run(batch: DynamoDBRecord[]): Promise<Outcome> {
    let response: DynamoDBBatchResponse | undefined;
    try {
      response = await this.#invoke(batch);
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.#events.failed(batch, message);
      return { kind: 'error', message };
    }
    const failures = response?.batchItemFailures ?? [];
    if (failures.length === 0) {
      this.#events.delivered(batch, 0);
      return { kind: 'ok' };
    }
    const indices = failures.map((failure) =>
      batch.findIndex((record) => record.dynamodb?.SequenceNumber === failure.itemIdentifier),
    );
    // Lambda treats an empty or unknown item identifier as a failure of the whole batch.
    if (indices.some((index) => index < 0)) {
      const message = `batchItemFailures names unknown identifiers ${JSON.stringify(failures)}`;
      this.#events.failed(batch, message);
      return { kind: 'error', message };
    }
    this.#events.delivered(batch, failures.length);
    return { kind: 'partial', index: Math.min(...indices) };
  }

  #discardExpired(): void {
    const oldest = Date.now() / 1000 - this.#settings.maxRecordAgeSeconds;
    let expired = 0;
    while (
      expired < this.#queue.length &&
      (this.#queue[expired]?.dynamodb?.ApproximateCreationDateTime ?? Number.POSITIVE_INFINITY) < oldest
    ) {
      expired += 1;
    }
    if (expired > 0)
      this.#events.discarded(
        this.#queue.splice(0, expired),
        `older than ${this.#settings.maxRecordAgeSeconds} s`,
      );
  }
}
