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

/** What a lane is doing now, for `GET /_local/stream`. */
export interface LaneState {
  /** Records read and not yet delivered, checkpointed or discarded. */
  readonly queued: number;
  /** An invocation of the delivery handler is running. */
  readonly invoking: boolean;
  /** Waiting before a retry of a failed batch. */
  readonly retrying: boolean;
  /** Failed attempts at the batch at the head of the lane (0: none failed). */
  readonly attempts: number;
  /** Batches given up since the lane started (where AWS sends them to the on-failure queue). */
  readonly discardedBatches: number;
}

type Outcome = { kind: 'ok' } | { kind: 'partial'; index: number } | { kind: 'error'; message: string };

export class BatchLane {
  readonly #settings: BatchSettings;
  readonly #invoke: InvokeBatch;
  readonly #events: LaneEvents;
  readonly #retryDelayMs: (attempt: number) => number;
  readonly #signal: AbortSignal;
  readonly #queue: DynamoDBRecord[] = [];
  /**
   * Whether `#drain` runs. Cleared by `#drain` itself in the same step that sees the queue empty, so a
   * `push` right after always starts a new drain (a flag cleared in a later `.finally` would leave
   * records pushed in between waiting for the next push).
   */
  #running = false;
  #draining: Promise<void> = Promise.resolve();
  /** Waiters of `shrunk()`, woken together when the queue gets shorter or the lane stops draining. */
  #shrinkWaiters: (() => void)[] = [];
  #invoking = false;
  #retrying = false;
  #attempts = 0;
  #discardedBatches = 0;

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

  get state(): LaneState {
    return {
      queued: this.#queue.length,
      invoking: this.#invoking,
      retrying: this.#retrying,
      attempts: this.#attempts,
      discardedBatches: this.#discardedBatches,
    };
  }

  push(records: DynamoDBRecord[]): void {
    this.#queue.push(...records);
    if (this.#running) return;
    this.#running = true;
    this.#draining = this.#drain();
  }

  /** Resolves once every queued record is delivered or discarded (or the lane is stopped). */
  async idle(): Promise<void> {
    while (this.#running) await this.#draining;
  }

  /**
   * Resolves the next time this lane's queue gets shorter (records delivered, checkpointed or
   * discarded), or at once when nothing is queued or draining has stopped (done or aborted). Unlike
   * `idle()` it never resolves without progress while records wait, so a caller can loop on it
   * until the queue is short enough without spinning.
   */
  shrunk(): Promise<void> {
    if (!this.#running || this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#shrinkWaiters.push(resolve));
  }

  #removeFront(count: number): DynamoDBRecord[] {
    const removed = this.#queue.splice(0, count);
    if (removed.length > 0) this.#wakeShrinkWaiters();
    return removed;
  }

  #wakeShrinkWaiters(): void {
    const waiters = this.#shrinkWaiters;
    this.#shrinkWaiters = [];
    for (const wake of waiters) wake();
  }

  async #drain(): Promise<void> {
    let size = this.#settings.batchSize;
    let attempts = 0;
    try {
      while (this.#queue.length > 0 && !this.#signal.aborted) {
        this.#discardExpired();
        const batch = this.#queue.slice(0, size);
        if (batch.length === 0) break;
        const outcome = await this.#run(batch);
        if (outcome.kind === 'ok') {
          this.#removeFront(batch.length);
          size = this.#settings.batchSize;
          attempts = 0;
          this.#attempts = 0;
          continue;
        }
        if (outcome.kind === 'partial') {
          // Records before the lowest failure are checkpointed; the failed record leads the retry.
          this.#removeFront(outcome.index);
          attempts = outcome.index > 0 ? 1 : attempts + 1;
        } else if (this.#settings.bisectBatchOnError && batch.length > 1) {
          size = Math.ceil(batch.length / 2);
          continue;
        } else {
          attempts += 1;
        }
        this.#attempts = attempts;
        if (attempts > this.#settings.retryAttempts) {
          const dropped = this.#removeFront(Math.min(size, this.#queue.length));
          this.#discardedBatches += 1;
          this.#events.discarded(dropped, `retries exhausted (${this.#settings.retryAttempts})`);
          size = this.#settings.batchSize;
          attempts = 0;
          this.#attempts = 0;
          continue;
        }
        this.#retrying = true;
        await sleep(this.#retryDelayMs(attempts), undefined, { signal: this.#signal }).catch(() => undefined);
        this.#retrying = false;
      }
    } finally {
      // In the same step as the loop's last check: a push from now on starts a new drain.
      this.#running = false;
      this.#retrying = false;
      this.#wakeShrinkWaiters();
    }
  }

  async #run(batch: DynamoDBRecord[]): Promise<Outcome> {
    let response: DynamoDBBatchResponse | undefined;
    this.#invoking = true;
    try {
      response = await this.#invoke(batch);
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      this.#events.failed(batch, message);
      return { kind: 'error', message };
    } finally {
      this.#invoking = false;
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
    if (expired === 0) return;
    this.#discardedBatches += 1;
    this.#events.discarded(this.#removeFront(expired), `older than ${this.#settings.maxRecordAgeSeconds} s`);
  }
}
