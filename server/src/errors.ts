/** A failed call, as one Error type: the server's `{ code, message }` answer, or no answer at all. */

/**
 * The contract's codes (integration.md: 400 `bad_request` / `too_large`, 403 `forbidden`, 404
 * `not_found`, 409 `conflict`, 429 `rate_limited`, 500 `internal`), and the package's own for a call
 * that got no usable answer: `network_error` (no response), `timeout` (none within `timeoutMs`),
 * `invalid_response` (a success whose body is not JSON). A server may add codes: `code` is any string.
 */
export type ParleyServerErrorCode =
  | 'bad_request'
  | 'too_large'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'internal'
  | 'network_error'
  | 'timeout'
  | 'invalid_response';

export interface ParleyServerErrorInit {
  readonly status: number;
  readonly code: ParleyServerErrorCode | (string & {});
  readonly message: string;
  readonly operation: string;
  readonly retryAfterMs?: number | undefined;
  readonly cause?: unknown;
}

/**
 * Thrown by every method once its call failed for good: a 4xx other than 429 at once, a 429, 5xx or
 * network failure once the attempts are used up (or its `Retry-After` is beyond `maxDelayMs`).
 */
export class ParleyServerError extends Error {
  override readonly name = 'ParleyServerError';
  /** The HTTP status; 0 when no response came (`network_error`, `timeout`). */
  readonly status: number;
  /** The answer's `code`, or the status's code of the contract when the body has none. */
  readonly code: ParleyServerErrorCode | (string & {});
  /** The method that failed: `sendMessage`, … */
  readonly operation: string;
  /** How long the server asked to wait (`Retry-After`, or the body's `retryAfterMs`). */
  readonly retryAfterMs: number | undefined;
  /** True for 429, 5xx and no response: the same call may succeed later (writes: with the same key). */
  readonly retryable: boolean;

  constructor(init: ParleyServerErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.operation = init.operation;
    this.retryAfterMs = init.retryAfterMs;
    this.retryable = isRetryableStatus(init.status);
  }
}

/** 429, 5xx, and 0 for no response at all. */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

/** The contract's code for a status, when an answer (a proxy's, API Gateway's own 403) carries none. */
export function codeForStatus(status: number): string {
  if (status >= 500) return 'internal';
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'too_large';
    case 429:
      return 'rate_limited';
    default:
      return `http_${status}`;
  }
}
