/**
 * Whether an AWS call that failed is worth retrying. Delivery retries transient failures (throttling,
 * 5xx, timeouts, lost connections) through the stream, and records permanent ones (403 forbidden, 413
 * too large, a bad request: retrying cannot change the answer) without holding up the rest of the shard.
 */
export type FailureClass = 'transient' | 'permanent';

/** 4xx answers that AWS services use for throttling and conflicts: they pass with time. */
const RETRYABLE_CLIENT_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
  'TransactionConflictException',
  'KMSThrottlingException',
]);

export function httpStatusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** Thrown by delivery itself for what no retry can fix (a conversation that no longer exists). */
export class PermanentFailure extends Error {
  override readonly name = 'PermanentFailure';
}

export function failureClass(error: unknown): FailureClass {
  if (error instanceof PermanentFailure) return 'permanent';
  const name = (error as { name?: unknown } | undefined)?.name;
  if (typeof name === 'string' && RETRYABLE_CLIENT_ERRORS.has(name)) return 'transient';
  const status = httpStatusOf(error);
  if (status === 429) return 'transient';
  const fault = (error as { $fault?: unknown } | undefined)?.$fault;
  // A service's own "your request is wrong" (400, 403, 404, 413): the same request fails again.
  if (status !== undefined && status >= 400 && status < 500 && fault !== 'server') return 'permanent';
  // 5xx, timeouts, resets and anything unknown (a bug of ours fails every attempt and ends in the
  // on-failure queue once its retries are spent, where an operator sees it).
  return 'transient';
}
