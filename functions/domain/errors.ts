/**
 * The error codes of protocol.md, one class per code that something throws. Domain code throws these;
 * the route adapter (functions/shared/ws-route.ts) turns them into `error` frames. `internal`, and
 * anything that is not a ParleyError, reaches the client with one fixed message: internals never do.
 */
import type { ErrorCode } from '../../definitions/error-codes.ts';

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

/** For a member of the conversation: the message or the upload named does not exist. */
export class NotFoundError extends ParleyError {
  override readonly name = 'NotFoundError';
  readonly code = 'not_found';
}

/** Over the user's rate limit: nothing was done, and the same frame may be sent again after `retryAfterMs`. */
export class RateLimitedError extends ParleyError {
  override readonly name = 'RateLimitedError';
  readonly code = 'rate_limited';
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * The server could not finish; the client may retry (with the same clientMessageId). The message is
 * for the logs only: the client gets ws-route.ts's fixed text.
 */
export class InternalError extends ParleyError {
  override readonly name = 'InternalError';
  readonly code = 'internal';
}
