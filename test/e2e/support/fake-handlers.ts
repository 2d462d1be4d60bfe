/**
 * Small handlers for testing the local API Gateway itself. The authorizer reads `?token=`: missing →
 * `Unauthorized`, `deny` → a Deny policy, `crash` → any other error, anything else is the user id.
 * `?connect=crash|refuse` makes `$connect` throw or answer 401. Every event is kept for inspection.
 */
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import type { WebSocketAuthorizerEvent, WebSocketEvent } from '../../../local/gateway/events.ts';
import type { LocalHandlers, RouteHandler } from '../../../local/handlers.ts';

export interface FakeHandlers extends LocalHandlers {
  readonly authorizerEvents: WebSocketAuthorizerEvent[];
  readonly events: WebSocketEvent[];
  /** Lets the held `sendMessage` invocation finish. */
  release(): void;
}

export function fakeHandlers(): FakeHandlers {
  const authorizerEvents: WebSocketAuthorizerEvent[] = [];
  const events: WebSocketEvent[] = [];
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const record =
    (respond: (event: WebSocketEvent) => Promise<{ statusCode: number; body?: string }>): RouteHandler =>
    async (event) => {
      events.push(event);
      return respond(event);
    };
  const echo = record(async (event) => ({
    statusCode: 200,
    body: JSON.stringify({ route: event.requestContext.routeKey, body: event.body }),
  }));

  const routes = new Map<string, RouteHandler>([
    [
      '$connect',
      async (event) => {
        events.push(event);
        const mode = event.queryStringParameters?.connect;
        if (mode === 'crash') throw new Error('connect failed');
        if (mode === 'refuse') return { statusCode: 401 };
        const offered = event.headers?.['Sec-WebSocket-Protocol'] ?? '';
        return offered.startsWith('parley')
          ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'parley' } }
          : { statusCode: 200 };
      },
    ],
    ['$disconnect', record(async () => ({ statusCode: 200 }))],
    ['$default', echo],
    ['ping', record(async () => ({ statusCode: 200, body: JSON.stringify({ type: 'pong' }) }))],
    [
      'sendMessage',
      record(async () => {
        await held;
        return { statusCode: 200, body: JSON.stringify({ type: 'ack', action: 'sendMessage' }) };
      }),
    ],
    [
      'typing',
      record(async () => {
        throw new Error('typing crashed');
      }),
    ],
  ]);

  return {
    authorizerEvents,
    events,
    release: () => release(),
    routes,
    authorizer: async (event): Promise<APIGatewayAuthorizerResult> => {
      authorizerEvents.push(event);
      const token = event.queryStringParameters.token;
      if (token === undefined) throw new Error('Unauthorized');
      if (token === 'crash') throw new TypeError('authorizer bug');
      return {
        principalId: token,
        policyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Action: 'execute-api:Invoke',
              Effect: token === 'deny' ? 'Deny' : 'Allow',
              Resource: event.methodArn,
            },
          ],
        },
        context: {
          userId: token,
          name: `User ${token}`,
          deviceId: event.queryStringParameters.deviceId ?? '',
        },
      };
    },
    delivery: async () => ({ batchItemFailures: [] }),
  };
}
