import type { ErrorCode, ErrorFrame } from './protocol.ts';

/** Codes after which a frame is worth sending again unchanged: the server failed, or asked to wait. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['internal', 'rate_limited']);

/** An `error` frame of protocol.md, as an Error. `code` says what to do; `message` is for people. */
export class ParleyError extends Error {
  override readonly name: string = 'ParleyError';
  readonly code: ErrorCode;
  readonly action: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, action?: string, retryAfterMs?: number) {
    super(message);
    this.code = code;
    this.action = action;
    this.retryAfterMs = retryAfterMs;
  }

  /** The error a frame means: a PaymentRequiredError or BlockedContentError for those codes. */
  static from(frame: ErrorFrame): ParleyError {
    switch (frame.code) {
      case 'payment_required':
        return new PaymentRequiredError(frame.message, frame.action);
      case 'blocked_content':
        return new BlockedContentError(frame.message, frame.action);
      default:
        return new ParleyError(frame.code, frame.message, frame.action, frame.retryAfterMs);
    }
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

/**
 * (1.2) The app's backend refused the message for the sender's plan or credits (the send hook).
 * `message` is its text for the user (say, how to buy more); sending it again unchanged cannot help, so
 * the SDK never does. Once the user can send again, send it anew.
 */
export class PaymentRequiredError extends ParleyError {
  override readonly name = 'PaymentRequiredError';
  declare readonly code: 'payment_required';

  constructor(message: string, action?: string) {
    super('payment_required', message, action);
  }
}

/**
 * (1.2) The app's content rules refused the message (the send hook: a word or link filter, a
 * moderation service). `message` says why, for the user; the SDK never sends it again.
 */
export class BlockedContentError extends ParleyError {
  override readonly name = 'BlockedContentError';
  declare readonly code: 'blocked_content';

  constructor(message: string, action?: string) {
    super('blocked_content', message, action);
  }
}

/** Why the client stopped for good (the `closed` state's reason). */
export type CloseReason =
  /** The app called close(). */
  | 'closed_by_app'
  /** The upgrade was refused with 401 twice, the second time with a token fetched just for it. */
  | 'unauthorized'
  /** The upgrade was refused with 403: the user is deactivated. */
  | 'deactivated'
  /** The token provider failed. */
  | 'token_unavailable';

/** uploadAttachment's PUT of the bytes failed: refused (`status`), or no answer (no status). */
export class UploadError extends Error {
  override readonly name = 'UploadError';
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

/** A request that could not be answered because the client closed, or the server never answered. */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
}
