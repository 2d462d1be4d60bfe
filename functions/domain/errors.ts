/**
 * The error codes of protocol.md, one class per code that something throws. Domain code throws these;
 * the route adapter (functions/shared/ws-route.ts) turns them into `error` frames. `internal`, and
 * anything that is not a ParleyError, reaches the client with one fixed message: internals never do.
 */
import type { ErrorCode } from '../../definitions/error-codes.ts';

export interface ParleyErrorOptions extends ErrorOptions {
  /**
   * What the logs say instead of the message, when the message is not Parley's own text: the send
   * hook's may quote the content, which logs never hold.
   */
  readonly logReason?: string;
}

export abstract class ParleyError extends Error {
  abstract readonly code: ErrorCode;
  /** Why, for the logs: the message unless the constructor was given another. */
  readonly logReason: string;
  constructor(message: string, options?: ParleyErrorOptions) {
    super(message, options);
    this.logReason = options?.logReason ?? message;
  }
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

/** (1.2) The operator's send hook refused the message for the sender's plan or credits; its message is passed on. */
export class PaymentRequiredError extends ParleyError {
  override readonly name = 'PaymentRequiredError';
  readonly code = 'payment_required';
}

/** (1.2) The operator's send hook or content rules refused the content; the hook's message is passed on. */
export class BlockedContentError extends ParleyError {
  override readonly name = 'BlockedContentError';
  readonly code = 'blocked_content';
}

/**
 * The server could not finish; the client may retry (with the same clientMessageId). The message is
 * for the logs only: the client gets ws-route.ts's fixed text.
 */
export class InternalError extends ParleyError {
  override readonly name = 'InternalError';
  readonly code = 'internal';
}
