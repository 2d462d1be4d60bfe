/** API Gateway WebSocket MESSAGE events for route handlers, from test/fixtures/message-event.json. */
import type { Context } from 'aws-lambda';
import type { WebSocketEvent } from '../../functions/shared/websocket-event.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { loadFixture } from './fixtures.ts';

/** alice (`Alice Martin`) on her iPhone (`iphone-7f3a`), sending `body` on the route `routeKey`. */
export function messageEvent(routeKey: string, body: unknown): WebSocketEvent {
  const event = loadFixture<WebSocketEvent>('message-event');
  event.requestContext.routeKey = routeKey;
  event.body = typeof body === 'string' ? body : JSON.stringify(body);
  return event;
}

/** The same event from a connection opened without `?deviceId=`. */
export function withoutDeviceId(event: WebSocketEvent): WebSocketEvent {
  if (event.requestContext.authorizer !== undefined) delete event.requestContext.authorizer.deviceId;
  return event;
}

export const context = (): Context => lambdaContext('route-test', 10_000);
