/**
 * Fault injection in the local API Gateway alone (in this process, with stand-in handlers), through the
 * real `@aws-sdk/client-apigatewaymanagementapi` client: what each injected `PostToConnection` answer is
 * to the SDK, that a 410 also cuts the socket (and `$disconnect` runs, as for `/drop`), and that a lost
 * connection, on demand or at a client frame, ends with no close frame and no `$disconnect`.
 */
import type { AddressInfo } from 'node:net';
import {
  ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_SELECTION_EXPRESSION, ROUTES } from '../../definitions/routes.ts';
import { CLIENT_HTTP_OPTIONS } from '../../functions/shared/clients/http-options.ts';
import { FaultPlan } from '../../local/faults/fault-plan.ts';
import { addFaultRoutes } from '../../local/faults/fault-routes.ts';
import { LostConnections } from '../../local/faults/lost-connections.ts';
import { ConnectionRegistry } from '../../local/gateway/connections.ts';
import { addDropRoutes } from '../../local/gateway/drop-route.ts';
import { createWebSocketEndpoint, type WebSocketEndpoint } from '../../local/gateway/websocket-endpoint.ts';
import { connect } from '../../local/harness/ws-client.ts';
import { LocalRoutes } from '../../local/http/local-routes.ts';
import { createLocalServer, type LocalServerParts } from '../../local/http/server.ts';
import { setLocalLogSink } from '../../local/log.ts';
import { LOCAL_API } from '../../local/stack.ts';
import { type FakeHandlers, fakeHandlers } from './support/fake-handlers.ts';

const ABNORMAL_CLOSURE = 1006;
const plan = new FaultPlan({}, 1);
const logs: string[] = [];
let handlers: FakeHandlers;
let endpoint: WebSocketEndpoint;
let stopServer: () => Promise<void>;
let url: string;
let httpUrl: string;
let management: ApiGatewayManagementApiClient;

beforeAll(async () => {
  setLocalLogSink((line) => logs.push(line));
  handlers = fakeHandlers();
  const registry = new ConnectionRegistry();
  const lost = new LostConnections();
  const localRoutes = new LocalRoutes();
  addFaultRoutes(localRoutes, plan);
  addDropRoutes(localRoutes, registry, lost);
  const parts: LocalServerParts = { registry, localRoutes, endpoint: undefined, faults: plan };
  const server = createLocalServer(parts);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  url = `ws://127.0.0.1:${port}`;
  httpUrl = `http://127.0.0.1:${port}`;
  endpoint = createWebSocketEndpoint({
    api: { ...LOCAL_API, domainName: `localhost:${port}` },
    registry,
    routes: ROUTES,
    routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    handlers,
    idleTimeoutMs: 10 * 60_000,
    maxConnectionMs: 2 * 60 * 60_000,
    faults: { plan, lost },
  });
  parts.endpoint = endpoint;
  stopServer = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  // As the handlers build theirs: the SDK's standard retries, 3 attempts.
  management = new ApiGatewayManagementApiClient({
    ...CLIENT_HTTP_OPTIONS,
    endpoint: httpUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  management?.destroy();
  await endpoint?.shutdown();
  await stopServer?.();
});

const setFaults = async (spec: string) => {
  const response = await fetch(`${httpUrl}/_local/faults`, { method: 'PUT', body: spec });
  expect(response.status).toBe(200);
};
const disconnected = (connectionId: string) =>
  handlers.events.some(
    (event) =>
      event.requestContext.routeKey === '$disconnect' && event.requestContext.connectionId === connectionId,
  );

async function openClient(user: string) {
  const before = handlers.events.length;
  const client = await connect(`${url}/?token=${user}`);
  const connectEvent = handlers.events.slice(before).find((e) => e.requestContext.routeKey === '$connect');
  return { client, connectionId: connectEvent?.requestContext.connectionId ?? '' };
}

const post = (connectionId: string, data: string) =>
  management.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));

describe('PostToConnection faults', () => {
  it('500 and 429 are retried by the SDK: two failed attempts, the third delivers', async () => {
    const { client, connectionId } = await openClient('ann');
    for (const answer of [500, 429]) {
      await setFaults(`post=2:${answer}`);
      const output = await post(connectionId, `{"after":${answer}}`);
      expect(output.$metadata.attempts).toBe(3);
      expect(await client.next()).toEqual({ after: answer });
    }
    await setFaults('');
    client.socket.close();
  });

  it('names the answers as API Gateway does: LimitExceededException (429), an unmodeled 500', async () => {
    const { client, connectionId } = await openClient('ben');
    await setFaults('post=3:429');
    await expect(post(connectionId, 'x')).rejects.toSatisfy(
      (error) =>
        error instanceof LimitExceededException &&
        error.$metadata.httpStatusCode === 429 &&
        error.$metadata.attempts === 3,
    );
    await setFaults('post=3:500');
    await expect(post(connectionId, 'x')).rejects.toMatchObject({
      name: 'InternalServerErrorException',
      $fault: 'server',
      $metadata: { httpStatusCode: 500, attempts: 3 },
    });
    // Nothing of the failed calls reached the socket.
    await setFaults('');
    await post(connectionId, '"only this"');
    expect(await client.next()).toBe('only this');
    client.socket.close();
  });

  it('410 is a GoneException and cuts the socket without a close frame; $disconnect runs', async () => {
    const { client, connectionId } = await openClient('cid');
    await setFaults('post=1:410');
    await expect(post(connectionId, 'lost')).rejects.toBeInstanceOf(GoneException);
    // The world agrees with the answer: the connection is gone for good, as API Gateway reports it.
    await expect(post(connectionId, 'again')).rejects.toBeInstanceOf(GoneException);
    expect(disconnected(connectionId)).toBe(true);
    expect((await client.closed).code).toBe(ABNORMAL_CLOSURE);
    await setFaults('');
  });
});

describe('a lost connection', () => {
  // The gateway decides on `$disconnect` in its close listener, which has run once `@connections` answers
  // 410 for the connection (and, for `/lose`, before the endpoint answers): no waiting needed.
  const gone = async (connectionId: string) =>
    (await fetch(`${httpUrl}/@connections/${encodeURIComponent(connectionId)}`)).status === 410;

  it('POST …/lose cuts the socket without a close frame, and $disconnect never runs', async () => {
    const { client, connectionId } = await openClient('dee');
    const response = await fetch(`${httpUrl}/_local/connections/${encodeURIComponent(connectionId)}/lose`, {
      method: 'POST',
    });
    expect(response.status).toBe(204);
    expect(await gone(connectionId)).toBe(true);
    expect(disconnected(connectionId)).toBe(false);
    expect((await client.closed).code).toBe(ABNORMAL_CLOSURE);
    expect(logs.join('\n')).toContain(`losing ${connectionId} dee`);
  });

  it('POST /_local/users/{userId}/lose loses every connection of that user and lists them', async () => {
    const phone = await openClient('eve');
    const tablet = await openClient('eve');
    const response = await fetch(`${httpUrl}/_local/users/eve/lose`, { method: 'POST' });
    expect(response.status).toBe(200);
    const { lost } = (await response.json()) as { lost: string[] };
    expect([...lost].sort()).toEqual([phone.connectionId, tablet.connectionId].sort());
    expect(disconnected(phone.connectionId) || disconnected(tablet.connectionId)).toBe(false);
    expect((await phone.client.closed).code).toBe(ABNORMAL_CLOSURE);
    expect((await tablet.client.closed).code).toBe(ABNORMAL_CLOSURE);
  });

  it('at a client frame (lose=1): the frame is lost with the socket, and $disconnect never runs', async () => {
    const { client, connectionId } = await openClient('fay');
    await setFaults('lose=1');
    client.send({ action: 'ping' });
    expect((await client.closed).code).toBe(ABNORMAL_CLOSURE);
    await expect.poll(() => gone(connectionId)).toBe(true);
    expect(disconnected(connectionId)).toBe(false);
    const routed = handlers.events.filter((event) => event.requestContext.connectionId === connectionId);
    expect(routed.map((event) => event.requestContext.routeKey)).toEqual(['$connect']);
    const { injected, remaining } = await (await fetch(`${httpUrl}/_local/faults`)).json();
    expect({ injected: injected.lose, remaining }).toEqual({ injected: 1, remaining: { lose: 0 } });
    // The next connection is not touched: the count is spent.
    const next = await openClient('fay');
    next.client.send({ action: 'ping' });
    expect(await next.client.next()).toEqual({ type: 'pong' });
    next.client.socket.close();
    await setFaults('');
  });
});
