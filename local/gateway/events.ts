/**
 * Lambda events shaped like API Gateway's for a WebSocket API: the REQUEST authorizer event at the
 * upgrade, then CONNECT, MESSAGE and DISCONNECT proxy events. Each carries only the fields AWS sends
 * for that event type (headers and query on CONNECT, a body on MESSAGE, the close code on DISCONNECT).
 */
import type {
  APIGatewayEventWebsocketRequestContextV2,
  APIGatewayProxyWebsocketEventV2WithRequestContext,
} from 'aws-lambda';
import { newMessageId, newRequestId, requestTime } from './ids.ts';

/** Where the local API pretends to live. */
export interface ApiIdentity {
  readonly apiId: string;
  readonly stage: string;
  readonly region: string;
  readonly accountId: string;
  /** `localhost:3001`: what a client put in its Host header. */
  readonly domainName: string;
}

/** What API Gateway knows about a connection from its upgrade request. */
export interface UpgradeRequest {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  /** The local port the client connected to (API Gateway's front end would say 443). */
  readonly localPort: number;
  readonly userAgent: string | undefined;
  /** Raw header name/value pairs in the order received (names keep their case, as AWS passes them). */
  readonly rawHeaders: readonly string[];
  readonly query: URLSearchParams;
}

/** Values of the authorizer's `context` plus its `principalId`, as AWS puts them on every event. */
export type AuthorizerValues = Record<string, string | number | boolean>;

/** `messageId` is on MESSAGE events only (`@types/aws-lambda` makes it mandatory everywhere). */
export interface WebSocketRequestContext extends Omit<APIGatewayEventWebsocketRequestContextV2, 'messageId'> {
  messageId?: string;
  identity: { sourceIp: string; userAgent?: string };
  authorizer?: AuthorizerValues;
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

export type WebSocketEvent = APIGatewayProxyWebsocketEventV2WithRequestContext<WebSocketRequestContext> & {
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
};

export function methodArn(api: ApiIdentity, routeKey: string): string {
  return `arn:aws:execute-api:${api.region}:${api.accountId}:${api.apiId}/${api.stage}/${routeKey}`;
}

/**
 * The REQUEST authorizer event of a WebSocket API. Unlike the REST variant (`@types/aws-lambda`'s
 * `APIGatewayRequestAuthorizerEvent`) it has no resource, path or HTTP method, and it carries the
 * WebSocket request context.
 */
export interface WebSocketAuthorizerEvent {
  type: 'REQUEST';
  methodArn: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string>;
  multiValueQueryStringParameters: Record<string, string[]>;
  stageVariables: Record<string, string>;
  requestContext: WebSocketRequestContext;
  isBase64Encoded: false;
}

export function authorizerEvent(api: ApiIdentity, upgrade: UpgradeRequest): WebSocketAuthorizerEvent {
  const { headers, multiValueHeaders } = connectHeaders(upgrade);
  const { single, multi } = queryParameters(upgrade.query);
  return {
    type: 'REQUEST',
    methodArn: methodArn(api, '$connect'),
    headers,
    multiValueHeaders,
    queryStringParameters: single,
    multiValueQueryStringParameters: multi,
    stageVariables: {},
    requestContext: baseContext(api, upgrade, '$connect', 'CONNECT'),
    isBase64Encoded: false,
  };
}

export function connectEvent(
  api: ApiIdentity,
  upgrade: UpgradeRequest,
  authorizer: AuthorizerValues,
): WebSocketEvent {
  const { headers, multiValueHeaders } = connectHeaders(upgrade);
  const event: WebSocketEvent = {
    headers,
    multiValueHeaders,
    requestContext: { ...baseContext(api, upgrade, '$connect', 'CONNECT'), authorizer },
    isBase64Encoded: false,
  };
  // AWS leaves the query fields out when the URL has none.
  if (upgrade.query.size > 0) {
    const { single, multi } = queryParameters(upgrade.query);
    event.queryStringParameters = single;
    event.multiValueQueryStringParameters = multi;
  }
  return event;
}

export function messageEvent(
  api: ApiIdentity,
  upgrade: UpgradeRequest,
  authorizer: AuthorizerValues,
  routeKey: string,
  body: string,
): WebSocketEvent {
  return {
    requestContext: {
      ...baseContext(api, upgrade, routeKey, 'MESSAGE'),
      messageId: newMessageId(),
      authorizer,
    },
    body,
    isBase64Encoded: false,
  };
}

export function disconnectEvent(
  api: ApiIdentity,
  upgrade: UpgradeRequest,
  authorizer: AuthorizerValues,
  statusCode: number,
  reason: string,
): WebSocketEvent {
  // The few headers AWS sends on DISCONNECT; the client's own headers are gone by then.
  const headers = { Host: api.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    requestContext: {
      ...baseContext(api, upgrade, '$disconnect', 'DISCONNECT'),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
      authorizer,
    },
    isBase64Encoded: false,
  };
}

function baseContext(
  api: ApiIdentity,
  upgrade: UpgradeRequest,
  routeKey: string,
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT',
): WebSocketRequestContext {
  const now = Date.now();
  return {
    routeKey,
    eventType,
    extendedRequestId: newMessageId(),
    requestTime: requestTime(now),
    messageDirection: 'IN',
    stage: api.stage,
    connectedAt: upgrade.connectedAt,
    requestTimeEpoch: now,
    identity:
      upgrade.userAgent === undefined
        ? { sourceIp: upgrade.sourceIp }
        : { userAgent: upgrade.userAgent, sourceIp: upgrade.sourceIp },
    requestId: newRequestId(),
    domainName: api.domainName,
    connectionId: upgrade.connectionId,
    apiId: api.apiId,
  };
}

function connectHeaders(upgrade: UpgradeRequest): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  // Names come from the client: a Map keeps `__proto__`, `constructor` or `toString` ordinary keys.
  const multi = new Map<string, string[]>();
  for (let i = 0; i + 1 < upgrade.rawHeaders.length; i += 2) {
    append(multi, upgrade.rawHeaders[i] as string, upgrade.rawHeaders[i + 1] as string);
  }
  // API Gateway adds the forwarding headers of its front end; here the front end is this server.
  multi.set('X-Forwarded-For', [upgrade.sourceIp]);
  multi.set('X-Forwarded-Port', [String(upgrade.localPort)]);
  multi.set('X-Forwarded-Proto', ['http']);
  return { headers: lastValues(multi), multiValueHeaders: Object.fromEntries(multi) };
}

function queryParameters(query: URLSearchParams): {
  single: Record<string, string>;
  multi: Record<string, string[]>;
} {
  const multi = new Map<string, string[]>();
  for (const [name, value] of query) append(multi, name, value);
  return { single: lastValues(multi), multi: Object.fromEntries(multi) };
}

function append(map: Map<string, string[]>, name: string, value: string): void {
  const values = map.get(name);
  if (values === undefined) map.set(name, [value]);
  else values.push(value);
}

/**
 * The single-value map API Gateway derives from the multi-value one. `Object.fromEntries` defines own
 * properties, as `JSON.parse` does for the event Lambda receives: a `__proto__` key is data, never the
 * object's prototype.
 */
function lastValues(multi: Map<string, string[]>): Record<string, string> {
  return Object.fromEntries([...multi].map(([name, values]) => [name, values.at(-1) ?? '']));
}
