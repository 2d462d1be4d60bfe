/**
 * The adapter between API Gateway WebSocket events and Parley's domain. A route declares its action,
 * its frame schema and a function from a typed request to the reply frame; this module parses and
 * validates the body, answers every bad frame with an `error` frame (the connection stays open, nothing
 * is stored), maps domain errors to protocol codes, hides internals of failures, logs one structured
 * line per request and counts every error answered (RouteErrors, definitions/metrics.ts).
 *
 * Two kinds of error frame, logged differently: a refusal is the client's doing (bad_request,
 * forbidden, ...), logged at info; a failure (`internal`: an InternalError, or anything that is not a
 * ParleyError) is ours, logged at error with its cause, and answered with a fixed message.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import type { RouteKey } from '../../definitions/metrics.ts';
import {
  BadRequestError,
  type ErrorCode,
  ParleyError,
  RateLimitedError,
  TooLargeError,
} from '../domain/errors.ts';
import type { ErrorFrame, ServerFrame } from '../domain/frames.ts';
import type { Caller } from '../domain/model.ts';
import { requireUnexpiredToken } from '../domain/token-expiry.ts';
import { logger, withLogKeys } from './logger.ts';
import { countMetric } from './metrics.ts';
import { callerOf, type RouteResponse, type WebSocketEvent } from './websocket-event.ts';

export interface RouteRequest<Frame> {
  readonly frame: Frame;
  readonly caller: Caller;
  readonly connectionId: string;
  readonly requestId: string;
  /** When API Gateway received the frame. */
  readonly receivedAt: Date;
}

type RouteFunction<Frame> = (request: RouteRequest<Frame>) => Promise<ServerFrame | undefined>;
type RouteHandler = (event: WebSocketEvent, context: Context) => Promise<RouteResponse>;

interface Internal extends Record<string, unknown> {
  /** The parsed body, kept even when invalid, so an error can echo clientMessageId. */
  body?: unknown;
}

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

function validate<S extends z.ZodMiniType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const describe = issues
    .map((issue) => `${issue.path.join('.') || 'frame'}: ${issueText(issue.code, issue.message)}`)
    .join('; ');
  // too_large only when every problem is a field over its length limit; a missing or mistyped field,
  // or a number out of range, is bad_request.
  const overLength = (issue: (typeof issues)[number]) =>
    issue.code === 'too_big' && (issue.origin === 'string' || issue.origin === 'array');
  if (issues.every(overLength)) throw new TooLargeError(describe);
  throw new BadRequestError(describe);
}

function issueText(code: string, message: string): string {
  switch (code) {
    case 'too_big':
      return 'too long or too large';
    case 'too_small':
      return 'too short or too small';
    case 'invalid_type':
      return 'missing or of the wrong type';
    case 'invalid_format':
      return 'has characters that are not allowed';
    case 'invalid_value':
      return 'not one of the allowed values';
    default:
      return message;
  }
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
    logger.info('request refused', { code: frame.code, reason: frame.message });
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

type ParsedEvent<Frame> = WebSocketEvent & { frame?: Frame };

export function defineRoute<S extends z.ZodMiniType>(
  action: RouteKey,
  schema: S,
  run: RouteFunction<z.infer<S>>,
): RouteHandler {
  const core = middy<ParsedEvent<z.infer<S>>, RouteResponse, Error, Context, Internal>()
    .use({
      // Parse and validate before the route runs, like middy's ws-json-body-parser: a malformed
      // body is answered, never thrown past the handler.
      before: async (request) => {
        const body = parseBody(request.event.body);
        request.internal.body = body;
        request.event = { ...request.event, frame: validate(schema, body) };
      },
      onError: async (request) => {
        request.response = reply(answerError(request.error, action, action, request.internal.body));
      },
    })
    .handler(async (event) => {
      const started = Date.now();
      const caller = callerOf(event);
      const receivedAt = new Date(event.requestContext.requestTimeEpoch || Date.now());
      await requireUnexpiredToken(caller, event.requestContext.connectionId, receivedAt);
      const answer = await run({
        frame: event.frame as z.infer<S>,
        caller,
        connectionId: event.requestContext.connectionId,
        requestId: event.requestContext.requestId,
        receivedAt,
      });
      logger.info('request handled', { durationMs: Date.now() - started });
      return reply(answer);
    });
  return withInvocationLogKeys(core);
}
