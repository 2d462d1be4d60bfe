/**
 * The events the local gateway builds, checked against the Powertools parser's API Gateway WebSocket
 * schema and `@types/aws-lambda`. The Powertools schema describes the REQUEST authorizer event as a
 * whole; for the proxy events it checks the request context and the fields AWS sends per event type.
 */
import { APIGatewayProxyWebsocketEventSchema } from '@aws-lambda-powertools/parser/schemas/api-gateway-websocket';
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../../local/harness/ws-client.ts';
import { type FakeHandlers, fakeHandlers } from './support/fake-handlers.ts';
import { type Gateway, startGateway } from './support/gateway-harness.ts';

let handlers: FakeHandlers;
let gateway: Gateway;
const shape = APIGatewayProxyWebsocketEventSchema.shape;
const RouteEventSchema = APIGatewayProxyWebsocketEventSchema.pick({
  requestContext: true,
  isBase64Encoded: true,
  body: true,
});
const ConnectEventSchema = RouteEventSchema.extend({
  headers: shape.headers,
  multiValueHeaders: shape.multiValueHeaders,
});

beforeAll(async () => {
  handlers = fakeHandlers();
  gateway = await startGateway(handlers);
  const client = await connect(`${gateway.url}/?token=alice&deviceId=phone-1`, {
    headers: { 'User-Agent': 'parley-test' },
  });
  client.send({ action: 'ping' });
  await client.next();
  client.socket.close(4000, 'bye');
  await client.closed;
  while (handlers.events.length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
});

afterAll(() => gateway.stop());

const eventOf = (routeKey: string) => {
  const event = handlers.events.find((e) => e.requestContext.routeKey === routeKey);
  if (event === undefined) throw new Error(`no ${routeKey} event`);
  return event;
};

it('builds the REQUEST authorizer event of a WebSocket API', () => {
  const [event] = handlers.authorizerEvents;
  const parsed = APIGatewayProxyWebsocketEventSchema.parse(event);
  expect(parsed).toMatchObject({
    type: 'REQUEST',
    methodArn: expect.stringMatching(/^arn:aws:execute-api:us-east-1:000000000000:local\/local\/\$connect$/),
    queryStringParameters: { token: 'alice', deviceId: 'phone-1' },
    multiValueQueryStringParameters: { token: ['alice'], deviceId: ['phone-1'] },
    requestContext: {
      routeKey: '$connect',
      eventType: 'CONNECT',
      identity: { sourceIp: '127.0.0.1', userAgent: 'parley-test' },
    },
  });
  expect(parsed.headers).toMatchObject({ 'User-Agent': 'parley-test', Upgrade: 'websocket' });
});

it('builds CONNECT with headers, query and the authorizer context', () => {
  const event = eventOf('$connect');
  const parsed = ConnectEventSchema.parse(event);
  expect(parsed.requestContext).toMatchObject({
    eventType: 'CONNECT',
    messageDirection: 'IN',
    stage: 'local',
    apiId: 'local',
    domainName: expect.stringMatching(/^localhost:\d+$/),
    connectionId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
    requestTime: expect.stringMatching(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/),
  });
  expect(event.queryStringParameters).toEqual({ token: 'alice', deviceId: 'phone-1' });
  expect(event.requestContext.authorizer).toMatchObject({
    principalId: 'alice',
    userId: 'alice',
    name: 'User alice',
  });
  expect(event.requestContext).not.toHaveProperty('messageId');
});

it('builds MESSAGE with the body and a messageId, without headers or query', () => {
  const event = eventOf('ping');
  const parsed = RouteEventSchema.parse(event);
  expect(parsed).toMatchObject({
    body: '{"action":"ping"}',
    isBase64Encoded: false,
    requestContext: { eventType: 'MESSAGE' },
  });
  expect(event.requestContext.messageId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  expect(event).not.toHaveProperty('headers');
  expect(event).not.toHaveProperty('queryStringParameters');
  const typed: APIGatewayProxyWebsocketEventV2 = {
    ...event,
    requestContext: { ...event.requestContext, messageId: event.requestContext.messageId ?? '' },
  };
  expect(typed.requestContext.connectionId).toBe(eventOf('$connect').requestContext.connectionId);
});

it('builds DISCONNECT with the close code and reason', () => {
  const event = eventOf('$disconnect');
  RouteEventSchema.parse(event);
  expect(event.requestContext).toMatchObject({
    eventType: 'DISCONNECT',
    disconnectStatusCode: 4000,
    disconnectReason: 'bye',
    connectedAt: eventOf('$connect').requestContext.connectedAt,
    authorizer: { userId: 'alice', deviceId: 'phone-1' },
  });
  expect(event).not.toHaveProperty('body');
});
