/**
 * Reconnect delays: exponential back-off with full jitter (a uniform delay between 0 and
 * min(maxMs, initialMs × 2^attempt)), so that thousands of clients cut off at once by the same outage
 * do not come back in step. The attempt count resets once a connection has stayed open `stableAfterMs`.
 */
export interface BackoffOptions {
  /** The ceiling of the first delay. Default 500 ms. */
  readonly initialMs?: number;
  /** The ceiling of every delay. Default 30 s. */
  readonly maxMs?: number;
  /** A connection open this long counts as stable and resets the back-off. Default 30 s. */
  readonly stableAfterMs?: number;
}

export const BACKOFF_DEFAULTS = { initialMs: 500, maxMs: 30_000, stableAfterMs: 30_000 } as const;

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly stableAfterMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.#initialMs = options.initialMs ?? BACKOFF_DEFAULTS.initialMs;
    this.#maxMs = options.maxMs ?? BACKOFF_DEFAULTS.maxMs;
    this.stableAfterMs = options.stableAfterMs ?? BACKOFF_DEFAULTS.stableAfterMs;
    this.#random = random;
  }

  /** The ceiling of the next delay, before jitter. */
  get ceilingMs(): number {
    // 2^attempt overflows to Infinity long after it passed maxMs; min() keeps it finite.
    return Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
  }

  /** The next delay, and one more attempt counted. */
  next(): number {
    const delay = Math.floor(this.#random() * this.ceilingMs);
    this.#attempt += 1;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
  }
}
