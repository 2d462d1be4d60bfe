/**
 * The adapter between API Gateway WebSocket events and Parley's domain. A route declares its action,
 * its frame schema and a function from a typed request to the reply frame; this module parses and
 * validates the body, answers every bad frame with an `error` frame (the connection stays open, nothing
 * is stored), maps domain errors to protocol codes, hides internals of unexpected failures, and logs
 * one structured line per request.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import {
  BadRequestError,
  InternalError,
  ParleyError,
  RateLimitedError,
  TooLargeError,
} from '../domain/errors.ts';
import type { ErrorFrame, ServerFrame } from '../domain/frames.ts';
import type { Caller } from '../domain/model.ts';
import { logger, withLogKeys } from './logger.ts';
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

export function errorFrame(error: unknown, action: string | undefined, body: unknown): ErrorFrame {
  const known = error instanceof ParleyError ? error : new InternalError('the server failed; retry');
  const frame: ErrorFrame = { type: 'error', code: known.code, message: known.message };
  if (action !== undefined) frame.action = action;
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  for (const key of ['clientMessageId', 'clientRequestId'] as const) {
    const value = fields[key];
    if (typeof value === 'string' && value.length <= 64) frame[key] = value;
  }
  if (known instanceof RateLimitedError) frame.retryAfterMs = known.retryAfterMs;
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
  action: string,
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
        const error = request.error;
        if (error instanceof ParleyError) {
          logger.info('request refused', { code: error.code, reason: error.message });
        } else {
          logger.error('request failed', { error });
        }
        request.response = reply(errorFrame(error, action, request.internal.body));
      },
    })
    .handler(async (event) => {
      const started = Date.now();
      const answer = await run({
        frame: event.frame as z.infer<S>,
        caller: callerOf(event),
        connectionId: event.requestContext.connectionId,
        requestId: event.requestContext.requestId,
        receivedAt: new Date(event.requestContext.requestTimeEpoch || Date.now()),
      });
      logger.info('request handled', { durationMs: Date.now() - started });
      return reply(answer);
    });
  return withInvocationLogKeys(core);
}
