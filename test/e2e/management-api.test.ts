/**
 * The `@connections` management API through the real `@aws-sdk/client-apigatewaymanagementapi`
 * client: only its endpoint differs from AWS.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../local/harness/ws-client.ts';
import { type FakeHandlers, fakeHandlers } from './support/fake-handlers.ts';
import { type Gateway, startGateway } from './support/gateway-harness.ts';

let handlers: FakeHandlers;
let gateway: Gateway;
let management: ApiGatewayManagementApiClient;

beforeAll(async () => {
  handlers = fakeHandlers();
  gateway = await startGateway(handlers);
  management = new ApiGatewayManagementApiClient({
    endpoint: gateway.httpUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  management.destroy();
  await gateway.stop();
});

/** The connection id of a fresh client, from the event its $connect received. */
async function openClient() {
  const before = handlers.events.length;
  const client = await connect(`${gateway.url}/?token=alice`);
  const connectEvent = handlers.events.slice(before).find((e) => e.requestContext.routeKey === '$connect');
  return { client, connectionId: connectEvent?.requestContext.connectionId ?? '' };
}

describe('management API', () => {
  it('posts data to the connection as a text frame', async () => {
    const { client, connectionId } = await openClient();
    await management.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"pong"}' }),
    );
    expect(await client.next()).toEqual({ type: 'pong' });
    client.socket.close();
  });

  it('gets connectedAt, identity and lastActiveAt', async () => {
    const { client, connectionId } = await openClient();
    const connection = await management.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(connection.ConnectedAt).toBeInstanceOf(Date);
    expect(connection.LastActiveAt).toBeInstanceOf(Date);
    expect(connection.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: undefined });
    client.socket.close();
  });

  it('deletes the connection: the client is closed and $disconnect runs', async () => {
    const { client, connectionId } = await openClient();
    await management.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    expect((await client.closed).code).toBe(1000);
    await expect
      .poll(() =>
        handlers.events.some(
          (e) =>
            e.requestContext.routeKey === '$disconnect' && e.requestContext.connectionId === connectionId,
        ),
      )
      .toBe(true);
  });

  it('answers GoneException (410) for an unknown id and for a closed connection', async () => {
    await expect(
      management.send(new PostToConnectionCommand({ ConnectionId: 'nope/+nope=', Data: 'x' })),
    ).rejects.toBeInstanceOf(GoneException);
    const { client, connectionId } = await openClient();
    client.socket.close();
    await client.closed;
    await expect(
      management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' })),
    ).rejects.toSatisfy((error) => error instanceof GoneException && error.$metadata.httpStatusCode === 410);
    await expect(
      management.send(new GetConnectionCommand({ ConnectionId: connectionId })),
    ).rejects.toBeInstanceOf(GoneException);
    await expect(
      management.send(new DeleteConnectionCommand({ ConnectionId: connectionId })),
    ).rejects.toBeInstanceOf(GoneException);
  });

  it('answers PayloadTooLargeException (413) over 128 KiB', async () => {
    const { client, connectionId } = await openClient();
    const data = 'x'.repeat(128 * 1024 + 1);
    await expect(
      management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data })),
    ).rejects.toSatisfy(
      (error) => error instanceof PayloadTooLargeException && error.$metadata.httpStatusCode === 413,
    );
    client.socket.close();
  });

  it('answers 410 while $connect is still running, as AWS does', async () => {
    let connectionId = '';
    let posted: unknown;
    const slowConnect = handlers.routes.get('$connect');
    const routes = handlers.routes as Map<string, NonNullable<typeof slowConnect>>;
    routes.set('$connect', async (event, context) => {
      connectionId = event.requestContext.connectionId;
      posted = await management
        .send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'early' }))
        .catch((error: unknown) => error);
      return slowConnect ? slowConnect(event, context) : { statusCode: 200 };
    });
    try {
      const client = await connect(`${gateway.url}/?token=alice`);
      expect(posted).toBeInstanceOf(GoneException);
      client.socket.close();
    } finally {
      if (slowConnect) routes.set('$connect', slowConnect);
    }
  });
});
