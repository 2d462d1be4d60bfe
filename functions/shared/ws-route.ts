/**
 * The adapter between API Gateway WebSocket events and Parley's domain. A route declares its action,
 * its frame schema and a function from a typed request to the reply frame; this module parses and
 * validates the body, answers every bad frame with an `error` frame (the connection stays open, nothing
 * is stored; route-answers.ts), refuses a frame whose token has expired, and logs one structured line
 * per request.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type * as z from 'zod/mini';
import type { RouteKey } from '../../definitions/routes.ts';
import type { ServerFrame } from '../domain/frames.ts';
import type { Caller } from '../domain/model.ts';
import { requireUnexpiredToken } from '../domain/token-expiry.ts';
import { logger } from './logger.ts';
import { answerError, parseBody, type RouteHandler, reply, withInvocationLogKeys } from './route-answers.ts';
import { validate } from './validate.ts';
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

interface Internal extends Record<string, unknown> {
  /** The parsed body, kept even when invalid, so an error can echo clientMessageId. */
  body?: unknown;
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
