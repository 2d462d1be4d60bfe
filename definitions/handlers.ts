/**
 * Where each Lambda's module lives, relative to the repository root: the one place the CDK stack, the
 * local stack, the benchmark and the tests learn it from. Every module exports `handler`.
 */
import { EVENTS_STREAM } from './events.ts';
import { AUTHORIZER, ROUTES } from './routes.ts';
import { SERVER_API } from './server-api.ts';
import { DELIVERY_STREAM } from './stream.ts';

export type RouteHandlerName = (typeof ROUTES)[number]['handler'];
export type HandlerName =
  | RouteHandlerName
  | typeof AUTHORIZER.handler
  | typeof DELIVERY_STREAM.handler
  | typeof EVENTS_STREAM.handler
  | typeof SERVER_API.handler;

export const HANDLER_MODULES = {
  ...(Object.fromEntries(
    ROUTES.map((route) => [route.handler, `functions/routes/${route.handler}.ts`]),
  ) as Record<RouteHandlerName, string>),
  [AUTHORIZER.handler]: `functions/authorizer/${AUTHORIZER.handler}.ts`,
  [DELIVERY_STREAM.handler]: `functions/stream/${DELIVERY_STREAM.handler}.ts`,
  // The table's stream to the EventBridge bus (integration.md, "Events to the backend").
  [EVENTS_STREAM.handler]: 'functions/events/handler.ts',
  // The server API of integration.md: one function behind every route of the HTTP API.
  [SERVER_API.handler]: `functions/${SERVER_API.handler}/handler.ts`,
} as const satisfies Record<HandlerName, string>;
