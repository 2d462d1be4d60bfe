/**
 * How every route answers: the reply shape, the JSON body check, the `error` frame for any failure or
 * refusal (logged and counted the same way everywhere) and the per-invocation log keys. No AWS client
 * is imported here, so `$default` stays a few kilobytes (ws-route.ts adds the token check, which needs
 * DynamoDB).
 *
 * Two kinds of error frame, logged differently: a refusal is the client's doing (bad_request,
 * forbidden, ...), logged at info; a failure (`internal`: an InternalError, or anything that is not a
 * ParleyError) is ours, logged at error with its cause, and answered with a fixed message.
 */
import type { Context } from 'aws-lambda';
import type { ErrorCode } from '../../definitions/error-codes.ts';
import type { RouteKey } from '../../definitions/routes.ts';
import { BadRequestError, ParleyError, RateLimitedError } from '../domain/errors.ts';
import type { ErrorFrame, ServerFrame } from '../domain/frames.ts';
import { logger, withLogKeys } from './logger.ts';
import { countMetric } from './metrics.ts';
import type { RouteResponse, WebSocketEvent } from './websocket-event.ts';

export type RouteHandler = (event: WebSocketEvent, context: Context) => Promise<RouteResponse>;

export function reply(frame: ServerFrame | undefined): RouteResponse {
  return frame === undefined ? { statusCode: 200 } : { statusCode: 200, body: JSON.stringify(frame) };
}

/** JSON object body, or a bad_request. */
export function parseBody(body: string | undefined): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    throw new BadRequestError('frame is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BadRequestError('frame is not a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * What a client is told when the server failed. Fixed: an InternalError's own message names internals
 * (a deadline, an item that vanished) and stays in the logs.
 */
export const INTERNAL_MESSAGE = 'the server failed; retry (with the same clientMessageId)';

/** The protocol code an error is answered with: its own for a ParleyError, `internal` for anything else. */
function errorCodeOf(error: unknown): ErrorCode {
  return error instanceof ParleyError ? error.code : 'internal';
}

function errorFrame(error: unknown, action: string | undefined, body: unknown): ErrorFrame {
  const code = errorCodeOf(error);
  const message = error instanceof ParleyError && code !== 'internal' ? error.message : INTERNAL_MESSAGE;
  const frame: ErrorFrame = { type: 'error', code, message };
  if (action !== undefined) frame.action = action;
  if (error instanceof RateLimitedError) frame.retryAfterMs = error.retryAfterMs;
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  for (const key of ['clientMessageId', 'clientRequestId'] as const) {
    const value = fields[key];
    if (typeof value === 'string' && value.length <= 64) frame[key] = value;
  }
  return frame;
}

/**
 * Logs and counts an error a route answers: a failure at error with its cause, a refusal at info with
 * its reason (the message the client is sent too). Returns the frame to answer with.
 */
export function answerError(
  error: unknown,
  route: RouteKey,
  action: string | undefined,
  body: unknown,
): ErrorFrame {
  const frame = errorFrame(error, action, body);
  if (frame.code === 'internal') {
    const cause = error instanceof Error ? error.cause : undefined;
    logger.error('request failed', { code: frame.code, error, ...(cause === undefined ? {} : { cause }) });
  } else {
    const reason = error instanceof ParleyError ? error.logReason : frame.message;
    logger.info('request refused', { code: frame.code, reason });
  }
  countMetric('RouteErrors', { Route: route, Code: frame.code });
  return frame;
}

/** Wraps the middy chain so every log line of the invocation carries its ids, concurrent ones too. */
export function withInvocationLogKeys(handler: RouteHandler): RouteHandler {
  return (event, context) =>
    withLogKeys(
      {
        route: event.requestContext.routeKey,
        connectionId: event.requestContext.connectionId,
        requestId: event.requestContext.requestId ?? context.awsRequestId,
        userId: event.requestContext.authorizer?.userId,
      },
      () => handler(event, context),
    );
}
