/**
 * `$connect`: stores the connection item delivery looks up (with its TTL), answers the `parley`
 * subprotocol only to a client that offered it, and fails loudly when no authorizer ran.
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../functions/routes/connect.ts';
import { connectEvent, lambdaContext } from '../../../local/harness/ws-events.ts';
import { CONNECTION_ID, ddb, sentToDynamo, TABLE } from './route-mocks.ts';

/** The Lambda's clock: a little after API Gateway accepted the upgrade. */
const NOW = new Date('2026-11-23T10:30:00.480Z');
/** `requestContext.connectedAt` of local/harness/events/connect-event.json. */
const CONNECTED_AT = '2026-11-23T10:30:00.000Z';
/** NOW in whole epoch seconds (1795429800) plus three hours: API Gateway's 2-hour limit and an hour. */
const EXPIRES_AT = 1795440600;

const connectionItem = (deviceId?: string) => ({
  PK: 'USER#alice',
  SK: `CONN#${CONNECTION_ID}`,
  type: 'connection',
  connectionId: CONNECTION_ID,
  userId: 'alice',
  deviceId,
  connectedAt: CONNECTED_AT,
  storedAt: NOW.toISOString(),
  expiresAt: EXPIRES_AT,
});

function withProtocolHeader(name: string, value: string | undefined) {
  const event = connectEvent({ deviceId: 'iphone-7f3a' });
  const headers = { ...event.headers };
  delete headers['Sec-WebSocket-Protocol'];
  if (value !== undefined) headers[name] = value;
  event.headers = headers;
  return event;
}

describe('$connect', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
    ddb.on(PutCommand).resolves({});
  });

  afterEach(() => {
    vi.useRealTimers();
    ddb.reset();
  });

  it('notes which token (jti) a connection stands on, and who used it until it expires', async () => {
    // GIVEN a token with a jti, valid for another day
    const tokenExpiresAt = EXPIRES_AT + 86_400;

    // WHEN
    await handler(connectEvent({ deviceId: 'iphone-7f3a', jti: 'tok-77', tokenExpiresAt }), lambdaContext);

    // THEN revoking that token can find this connection (functions/domain/operations.ts)
    expect(sentToDynamo()).toEqual([
      ['PutCommand', { TableName: TABLE, Item: { ...connectionItem('iphone-7f3a'), jti: 'tok-77' } }],
      [
        'PutCommand',
        {
          TableName: TABLE,
          Item: { PK: 'JTI#tok-77', SK: 'USE', type: 'tokenUse', userId: 'alice', expiresAt: tokenExpiresAt },
        },
      ],
    ]);
  });

  it('stores the connection with its device, connect time and a TTL of three hours', async () => {
    // WHEN
    const response = await handler(connectEvent({ deviceId: 'iphone-7f3a' }), lambdaContext);

    // THEN
    expect(response.statusCode).toBe(200);
    expect(sentToDynamo()).toEqual([
      ['PutCommand', { TableName: TABLE, Item: connectionItem('iphone-7f3a') }],
    ]);
  });

  it('stores no deviceId for a connection opened without ?deviceId=', async () => {
    await handler(connectEvent(), lambdaContext);

    const [call] = ddb.commandCalls(PutCommand);
    expect(call?.args[0].input).toEqual({ TableName: TABLE, Item: connectionItem() });
    expect(call?.args[0].input.Item?.deviceId).toBeUndefined();
  });

  it("takes the connect time from the Lambda's clock when API Gateway gave none", async () => {
    // GIVEN an event without connectedAt
    const event = connectEvent({ deviceId: 'iphone-7f3a' });
    event.requestContext.connectedAt = 0;

    await handler(event, lambdaContext);

    expect(ddb).toHaveReceivedCommandExactlyOnceWith(PutCommand, {
      TableName: TABLE,
      Item: { ...connectionItem('iphone-7f3a'), connectedAt: NOW.toISOString() },
    });
  });

  it('answers the parley subprotocol to a browser that offered `parley, <jwt>`', async () => {
    // GIVEN the fixture's header: Sec-WebSocket-Protocol: parley, eyJ...
    const response = await handler(connectEvent({ deviceId: 'iphone-7f3a' }), lambdaContext);

    expect(response).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'parley' } });
  });

  it.each([
    ['sec-websocket-protocol', 'parley, eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
    ['SEC-WEBSOCKET-PROTOCOL', 'parley,eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
    ['Sec-Websocket-Protocol', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln, parley'],
    ['sec-websocket-protocol', 'parley'],
  ])('finds the offer in a header named %s (%s)', async (name, value) => {
    const response = await handler(withProtocolHeader(name, value), lambdaContext);

    expect(response).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'parley' } });
  });

  it.each([
    ['no Sec-WebSocket-Protocol header', undefined],
    ['other subprotocols only', 'graphql-ws, mqtt'],
    ['a protocol that only starts with parley', 'parleyx, eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
    ['an empty header', ''],
  ])('picks no subprotocol for %s', async (_case, value) => {
    const response = await handler(withProtocolHeader('Sec-WebSocket-Protocol', value), lambdaContext);

    expect(response).toEqual({ statusCode: 200 });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
  });

  it('throws when no authorizer context reached the route (API misconfigured: API Gateway answers 500)', async () => {
    // GIVEN a $connect route without the authorizer
    const event = connectEvent();
    delete event.requestContext.authorizer;

    // WHEN / THEN
    await expect(handler(event, lambdaContext)).rejects.toThrow(
      'No authorizer context on the event: is the $connect authorizer configured?',
    );
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('throws when the authorizer context names no user', async () => {
    const event = connectEvent();
    event.requestContext.authorizer = { principalId: 'alice', userId: '' };

    await expect(handler(event, lambdaContext)).rejects.toThrow('No authorizer context');
    expect(ddb).not.toHaveReceivedAnyCommand();
  });

  it('lets a DynamoDB failure propagate, so the upgrade fails instead of leaving an undeliverable socket', async () => {
    // GIVEN
    const failure = new ProvisionedThroughputExceededException({
      message: 'The level of configured provisioned throughput for the table was exceeded.',
      $metadata: { httpStatusCode: 400 },
    });
    ddb.on(PutCommand).rejects(failure);

    // WHEN / THEN
    await expect(handler(connectEvent(), lambdaContext)).rejects.toBe(failure);
  });
});
