/**
 * The local API Gateway alone, in this process, with handlers a test supplies: the gateway's own
 * behaviour (authorizer answers, limits, event shapes, management API) tested without DynamoDB or
 * the project's handlers. Listens on a free port of 127.0.0.1.
 */
import type { AddressInfo } from 'node:net';
import { ROUTE_SELECTION_EXPRESSION, ROUTES } from '../../../definitions/routes.ts';
import { ConnectionRegistry } from '../../../local/gateway/connections.ts';
import { createWebSocketEndpoint } from '../../../local/gateway/websocket-endpoint.ts';
import type { LocalHandlers } from '../../../local/handlers.ts';
import type { AdminSettings } from '../../../local/http/admin-access.ts';
import { LocalRoutes } from '../../../local/http/local-routes.ts';
import { createLocalServer, type LocalServerParts } from '../../../local/http/server.ts';
import { setLocalLogSink } from '../../../local/log.ts';
import { LOCAL_API } from '../../../local/stack.ts';

export interface Gateway {
  readonly url: string;
  readonly httpUrl: string;
  readonly logs: string[];
  stop(): Promise<void>;
}

export async function startGateway(
  handlers: LocalHandlers,
  limits: { idleTimeoutMs?: number; maxConnectionMs?: number } = {},
  admin?: AdminSettings,
): Promise<Gateway> {
  const logs: string[] = [];
  setLocalLogSink((line) => logs.push(line));
  const parts: LocalServerParts = {
    registry: new ConnectionRegistry(),
    localRoutes: new LocalRoutes(),
    endpoint: undefined,
    admin,
  };
  const server = createLocalServer(parts);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const endpoint = createWebSocketEndpoint({
    api: { ...LOCAL_API, domainName: `localhost:${port}` },
    registry: parts.registry,
    routes: ROUTES,
    routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    handlers,
    idleTimeoutMs: limits.idleTimeoutMs ?? 10 * 60_000,
    maxConnectionMs: limits.maxConnectionMs ?? 2 * 60 * 60_000,
  });
  parts.endpoint = endpoint;
  return {
    url: `ws://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${port}`,
    logs,
    async stop() {
      await endpoint.shutdown();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
