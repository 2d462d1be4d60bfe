/**
 * The admin key through the gateway's one port: `@connections` and `/_local/` answer other machines
 * only with it, while the handlers' own SigV4 calls from 127.0.0.1 and JWT-checked WebSockets need
 * none. A LAN client is stood in by counting every address as remote: tests listen on 127.0.0.1 only.
 */
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../local/harness/ws-client.ts';
import { type FakeHandlers, fakeHandlers } from './support/fake-handlers.ts';
import { type Gateway, startGateway } from './support/gateway-harness.ts';

const KEY = 'test-admin-key-0123456789abcdef';
let handlers: FakeHandlers;
let gateway: Gateway | undefined;

afterEach(async () => {
  handlers?.release();
  await gateway?.stop();
  gateway = undefined;
});

async function status(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway?.httpUrl}${path}`, { headers });
  await response.arrayBuffer();
  return { status: response.status, type: response.headers.get('x-amzn-errortype') };
}

describe('requests from another machine', () => {
  it('need the admin key for /_local/ and @connections, as a Bearer token or x-parley-admin-key', async () => {
    handlers = fakeHandlers();
    gateway = await startGateway(handlers, {}, { key: KEY, isLocal: () => false });

    for (const path of ['/_local/pushes', '/@connections/some-id']) {
      expect(await status(path)).toEqual({ status: 401, type: 'UnauthorizedException' });
      expect(await status(path, { Authorization: 'Bearer not-the-key' })).toEqual({
        status: 403,
        type: 'ForbiddenException',
      });
    }
    // With the key the request reaches the endpoint: no such local route, no such connection.
    expect((await status('/_local/pushes', { Authorization: `Bearer ${KEY}` })).status).toBe(404);
    expect(await status('/@connections/some-id', { 'x-parley-admin-key': KEY })).toEqual({
      status: 410,
      type: 'GoneException',
    });
    expect(
      gateway.logs.some((line) => /refused GET \/_local\/pushes from .*admin key missing/.test(line)),
    ).toBe(true);
  });

  it('still open WebSockets with a JWT alone', async () => {
    handlers = fakeHandlers();
    gateway = await startGateway(handlers, {}, { key: KEY, isLocal: () => false });
    const client = await connect(`${gateway.url}/?token=alice`);
    client.send({ action: 'ping' });
    expect(await client.next()).toEqual({ type: 'pong' });
    client.socket.close();
  });

  it('are refused when no key is configured at all (fail closed)', async () => {
    handlers = fakeHandlers();
    gateway = await startGateway(handlers, {}, { key: undefined, isLocal: () => false });
    expect((await status('/_local/pushes', { Authorization: `Bearer ${KEY}` })).status).toBe(403);
  });
});

describe('requests from this machine', () => {
  it('need no key: the handlers post through the real SDK client over 127.0.0.1 with SigV4', async () => {
    handlers = fakeHandlers();
    gateway = await startGateway(handlers, {}, { key: KEY });
    const client = await connect(`${gateway.url}/?token=alice`);
    const connectionId = handlers.events.find((e) => e.requestContext.routeKey === '$connect')?.requestContext
      .connectionId;
    const management = new ApiGatewayManagementApiClient({
      endpoint: gateway.httpUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await management.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"pong"}' }),
      );
      expect(await client.next()).toEqual({ type: 'pong' });
    } finally {
      management.destroy();
      client.socket.close();
    }
    expect((await status('/_local/pushes')).status).toBe(404);
  });
});
