/**
 * When a failed call is sent again: exponential back-off with full jitter (a uniform delay between 0
 * and min(maxDelayMs, baseDelayMs × 2^(attempt − 1))), so that many backends failing at once do not
 * come back in step, unless the server said how long to wait.
 */
export interface RetryOptions {
  /** Attempts in all, the first included; 1 never retries. Default 4. */
  readonly attempts?: number;
  /** The ceiling of the first back-off delay. Default 200 ms. */
  readonly baseDelayMs?: number;
  /**
   * The ceiling of every delay. A `Retry-After` longer than this is not waited for: the call fails at
   * once with the error, whose `retryAfterMs` says when to try again. Default 10 s.
   */
  readonly maxDelayMs?: number;
}

export const RETRY_DEFAULTS = { attempts: 4, baseDelayMs: 200, maxDelayMs: 10_000 } as const;

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = { ...RETRY_DEFAULTS, ...definedOnly(options) };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) {
    throw new TypeError(`retry.attempts must be a whole number of at least 1, not ${policy.attempts}`);
  }
  for (const key of ['baseDelayMs', 'maxDelayMs'] as const) {
    if (!Number.isFinite(policy[key]) || policy[key] < 0) {
      throw new TypeError(`retry.${key} must be a number of milliseconds, not ${policy[key]}`);
    }
  }
  return policy;
}

function definedOnly(options: RetryOptions): RetryOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

/** The back-off before attempt `attempt + 1`, after `attempt` attempts failed (1 for the first). */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  // 2^attempt overflows to Infinity long after it passed maxDelayMs; min() keeps it finite.
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * How long the answer asks to wait: the error body's `retryAfterMs` (as protocol.md's `rate_limited`
 * carries it), else the `Retry-After` header (seconds, or an HTTP date). Undefined when neither says.
 */
export function retryAfterMs(headers: Headers, body: unknown, now: number = Date.now()): number | undefined {
  if (typeof body === 'object' && body !== null && 'retryAfterMs' in body) {
    const value = body.retryAfterMs;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  const header = headers.get('retry-after')?.trim();
  if (!header) return undefined;
  if (/^\d+(\.\d+)?$/.test(header)) return Math.ceil(Number(header) * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
