/**
 * The error codes of protocol.md, one class per code. Domain code throws these; the route adapter
 * (functions/shared/ws-route.ts) turns them into `error` frames. Anything else becomes `internal`
 * with a generic message: internals never reach clients.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unknown_action'
  | 'too_large'
  | 'forbidden'
  | 'not_found'
  | 'rate_limited'
  | 'internal';

export abstract class ParleyError extends Error {
  abstract readonly code: ErrorCode;
}

export class BadRequestError extends ParleyError {
  override readonly name = 'BadRequestError';
  readonly code = 'bad_request';
}

export class UnknownActionError extends ParleyError {
  override readonly name = 'UnknownActionError';
  readonly code = 'unknown_action';
}

export class TooLargeError extends ParleyError {
  override readonly name = 'TooLargeError';
  readonly code = 'too_large';
}

export class ForbiddenError extends ParleyError {
  override readonly name = 'ForbiddenError';
  readonly code = 'forbidden';
}

export class NotFoundError extends ParleyError {
  override readonly name = 'NotFoundError';
  readonly code = 'not_found';
}

export class RateLimitedError extends ParleyError {
  override readonly name = 'RateLimitedError';
  readonly code = 'rate_limited';
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

/** The server could not finish; the client may retry (with the same clientMessageId). */
export class InternalError extends ParleyError {
  override readonly name = 'InternalError';
  readonly code = 'internal';
}
