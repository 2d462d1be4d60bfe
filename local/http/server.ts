/**
 * The local stack's one port: WebSocket upgrades go to the API Gateway endpoint, `/@connections/…` to
 * the management API, `/v1/…` to the server API (SigV4-signed, local/server-api/), `/_local/…` to the
 * local-only endpoints, `/` and `/demo/…` to the demo page.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { serveDemo } from '../demo/serve-demo.ts';
import type { FaultPlan } from '../faults/fault-plan.ts';
import type { ConnectionRegistry } from '../gateway/connections.ts';
import { handleManagementRequest, isManagementPath } from '../gateway/management-api.ts';
import type { WebSocketEndpoint } from '../gateway/websocket-endpoint.ts';
import { localLog } from '../log.ts';
import { isServerApiPath, type ServerApiRoute } from '../server-api/server-api-route.ts';
import { type AdminSettings, admitAdminRequest } from './admin-access.ts';
import { json, LOCAL_PREFIX, type LocalRoutes } from './local-routes.ts';

export interface LocalServerParts {
  readonly registry: ConnectionRegistry;
  readonly localRoutes: LocalRoutes;
  /** Set once the handlers are loaded; until then upgrades are refused with 503. */
  endpoint: WebSocketEndpoint | undefined;
  /** Requests from other machines to `@connections` and `/_local/` need this key (admin-access.ts). */
  readonly admin?: AdminSettings;
  /** Fault injection: some `PostToConnection` calls fail (local/faults/). */
  readonly faults?: FaultPlan;
  /** `/v1/…`: the server API. Its guard is the SigV4 signature, not the admin key. */
  readonly serverApi?: ServerApiRoute;
}

export function createLocalServer(parts: LocalServerParts): Server {
  const server = createServer((request, response) => {
    handle(parts, request, response).catch((error: unknown) => {
      localLog.error(`${request.method} ${request.url} failed: ${String(error)}`);
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify({ message: 'Internal server error' }));
    });
  });
  server.on('upgrade', (request, socket, head) => {
    if (parts.endpoint === undefined) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    parts.endpoint.handleUpgrade(request, socket, head);
  });
  return server;
}

async function handle(
  parts: LocalServerParts,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const method = request.method ?? 'GET';
  if (parts.serverApi !== undefined && isServerApiPath(url.pathname)) {
    return parts.serverApi.serve(request, response);
  }
  const guarded = isManagementPath(url.pathname) || url.pathname.startsWith(LOCAL_PREFIX);
  if (guarded && !admitAdminRequest(parts.admin, request, response)) return;
  if (isManagementPath(url.pathname)) {
    return handleManagementRequest(parts.registry, request, response, url.pathname, parts.faults);
  }
  if (url.pathname.startsWith(LOCAL_PREFIX)) {
    const body = await readAll(request);
    // The SNS client (AWS Query protocol) posts to its endpoint path plus `/`.
    const match = parts.localRoutes.match(method, url.pathname.replace(/(.)\/$/, '$1'));
    const reply =
      match === undefined
        ? json(404, { message: `No local endpoint ${url.pathname}` })
        : match === 'method'
          ? json(405, { message: `${method} not allowed on ${url.pathname}` })
          : await match.handler({
              method,
              params: match.params,
              query: url.searchParams,
              headers: request.headers,
              body,
            });
    response.writeHead(reply.statusCode, reply.headers).end(reply.body);
    return;
  }
  await readAll(request);
  if (await serveDemo(method, url.pathname, response)) return;
  response
    .writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' })
    .end("Parley's local API Gateway: open a WebSocket here (see docs/local-stack.md).\n");
}

async function readAll(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
