import type { ErrorCode, ErrorFrame } from './protocol.ts';

/** Codes after which a frame is worth sending again unchanged: the server failed, or asked to wait. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['internal', 'rate_limited']);

/** An `error` frame of protocol.md, as an Error. `code` says what to do; `message` is for people. */
export class ParleyError extends Error {
  override readonly name = 'ParleyError';
  readonly code: ErrorCode;
  readonly action: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, action?: string, retryAfterMs?: number) {
    super(message);
    this.code = code;
    this.action = action;
    this.retryAfterMs = retryAfterMs;
  }

  static from(frame: ErrorFrame): ParleyError {
    return new ParleyError(frame.code, frame.message, frame.action, frame.retryAfterMs);
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
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
