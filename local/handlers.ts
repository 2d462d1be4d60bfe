/**
 * The handlers the local stack invokes, loaded from the shared definitions exactly as the CDK stack
 * wires them: one module per route, the `$connect` authorizer, the two stream consumers (delivery,
 * events) and the server API.
 * The local stack imports handlers; handlers never import the local stack. Tests may pass their own
 * `LocalHandlers`.
 */
import { join } from 'node:path';
import type {
  APIGatewayAuthorizerResult,
  Context,
  DynamoDBBatchResponse,
  DynamoDBStreamEvent,
} from 'aws-lambda';
import { EVENTS_STREAM } from '../definitions/events.ts';
import { HANDLER_MODULES } from '../definitions/handlers.ts';
import { AUTHORIZER, ROUTES } from '../definitions/routes.ts';
import { SERVER_API } from '../definitions/server-api.ts';
import { DELIVERY_STREAM } from '../definitions/stream.ts';
import type { WebSocketAuthorizerEvent, WebSocketEvent } from './gateway/events.ts';
import type { ServerApiHandler } from './server-api/server-api-route.ts';

export interface RouteResult {
  statusCode?: number;
  body?: string;
  headers?: Record<string, string>;
}

export type RouteHandler = (event: WebSocketEvent, context: Context) => Promise<RouteResult | undefined>;
export type AuthorizerHandler = (
  event: WebSocketAuthorizerEvent,
  context: Context,
) => Promise<APIGatewayAuthorizerResult>;
export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | undefined>;

export interface LocalHandlers {
  readonly authorizer: AuthorizerHandler;
  /** By API Gateway route key (`$connect`, `sendMessage`, …). */
  readonly routes: ReadonlyMap<string, RouteHandler>;
  readonly delivery: StreamHandler;
  /** The server API function (`/v1/…`); without it (tests' own handlers) that API answers 503. */
  readonly serverApi?: ServerApiHandler;
  /**
   * The events function, the stream's second consumer (definitions/events.ts); without it (tests' own
   * handlers) nothing is published and no second poller runs.
   */
  readonly eventsConsumer?: StreamHandler;
}

const ROOT = join(import.meta.dirname, '..');

/**
 * Imports every handler module named in the definitions. Call only after `process.env` holds the
 * configuration: handler modules read it at import time.
 */
export async function loadHandlers(): Promise<LocalHandlers> {
  const routes = new Map<string, RouteHandler>();
  for (const route of ROUTES) {
    routes.set(route.routeKey, await importHandler<RouteHandler>(HANDLER_MODULES[route.handler]));
  }
  return {
    authorizer: await importHandler<AuthorizerHandler>(HANDLER_MODULES[AUTHORIZER.handler]),
    routes,
    delivery: await importHandler<StreamHandler>(HANDLER_MODULES[DELIVERY_STREAM.handler]),
    serverApi: await importHandler<ServerApiHandler>(HANDLER_MODULES[SERVER_API.handler]),
    eventsConsumer: await importHandler<StreamHandler>(HANDLER_MODULES[EVENTS_STREAM.handler]),
  };
}

async function importHandler<H>(modulePath: string): Promise<H> {
  const path = join(ROOT, modulePath);
  let module: { handler?: unknown };
  try {
    module = await import(path);
  } catch (error) {
    throw new Error(`Could not load handler module ${path}`, { cause: error });
  }
  if (typeof module.handler !== 'function') {
    throw new Error(`Handler module ${path} does not export a \`handler\` function`);
  }
  return module.handler as H;
}
