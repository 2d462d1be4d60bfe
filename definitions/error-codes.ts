/**
 * The error codes of protocol.md, the one list: the handlers' error classes
 * (functions/domain/errors.ts), the `RouteErrors` metric's `Code` dimension (definitions/metrics.ts) and
 * the tests' expectations all derive from it.
 */
export const ERROR_CODES = [
  'bad_request',
  'unknown_action',
  'too_large',
  'forbidden',
  'not_found',
  'rate_limited',
  // (1.2) The operator's send hook refused the message (definitions/send-hook.ts); its message is passed on.
  'payment_required',
  'blocked_content',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
