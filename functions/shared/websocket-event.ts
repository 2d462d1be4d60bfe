/**
 * The API Gateway WebSocket event as Parley's routes receive it: the standard request context plus
 * the authorizer's context, which carries the caller's identity to every route of the connection.
 */
import type {
  APIGatewayEventWebsocketRequestContextV2,
  APIGatewayProxyWebsocketEventV2WithRequestContext,
} from 'aws-lambda';
import { InternalError } from '../domain/errors.ts';
import type { Caller } from '../domain/model.ts';

/**
 * Who is calling, as the `$connect` authorizer (functions/authorizer/authorizer.ts) puts it in its Allow
 * policy's `context` and API Gateway hands it to every route of the connection. API Gateway allows only
 * flat strings, numbers and booleans there, so absent values are '' rather than missing. (A type
 * alias, not an interface: only an alias fits `APIGatewayAuthorizerResult`'s string-indexed context.)
 */
export type AuthorizerContext = {
  userId: string;
  /** Display name for push titles: the token's `name` claim, or the user id. */
  name: string;
  /** The `deviceId` query parameter of the connection, or '' when the client gave none. */
  deviceId: string;
  /** The token's `jti`, or '' when it has none. */
  jti: string;
  /** The token's `exp` (epoch seconds), or 0 when it has none. */
  tokenExpiresAt: number;
};

/**
 * `requestContext.authorizer` as a route receives it: the authorizer's context plus the `principalId`
 * API Gateway adds. Partial, because a route reachable without the authorizer (a misconfigured API)
 * gets none: callerOf checks rather than trusts it.
 */
type RouteAuthorizerContext = Partial<AuthorizerContext> & { principalId?: string };

export type WebSocketEvent = APIGatewayProxyWebsocketEventV2WithRequestContext<
  APIGatewayEventWebsocketRequestContextV2 & { authorizer?: RouteAuthorizerContext }
> & {
  /** Sent by API Gateway on CONNECT only. */
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
};

/** What API Gateway expects back from a WebSocket integration. `body` goes to the caller on two-way routes. */
export interface RouteResponse {
  statusCode: number;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * The caller, from the authorizer's context. Missing identity means the API is misconfigured (a
 * route reachable without the authorizer): fail loudly rather than guess.
 */
export function callerOf(event: WebSocketEvent): Caller {
  const context = event.requestContext.authorizer;
  const userId = context?.userId;
  if (typeof userId !== 'string' || userId === '') {
    throw new InternalError('No authorizer context on the event: is the $connect authorizer configured?');
  }
  const name = typeof context?.name === 'string' && context.name !== '' ? context.name : userId;
  const deviceId =
    typeof context?.deviceId === 'string' && context.deviceId !== '' ? context.deviceId : undefined;
  const jti = typeof context?.jti === 'string' && context.jti !== '' ? context.jti : undefined;
  const exp = Number(context?.tokenExpiresAt);
  return {
    userId,
    name,
    deviceId,
    ...(jti !== undefined && { jti }),
    ...(Number.isInteger(exp) && exp > 0 && { tokenExpiresAt: exp }),
  };
}

export function headerOf(event: WebSocketEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
