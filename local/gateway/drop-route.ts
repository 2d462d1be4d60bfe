/**
 * `POST /_local/connections/{connectionId}/drop` and `POST /_local/users/{userId}/drop`: cut a client's
 * TCP socket at once, with no close frame, as a lost network would (the client sees 1006). The
 * gateway's usual close handling then runs `$disconnect`, as API Gateway does once it notices the
 * connection is gone. The answer comes after the gateway has let go of the connection (the management
 * API answers 410 for it), not after `$disconnect` has finished: that runs on, as it does in AWS.
 */
import type { WebSocket } from 'ws';
import { json, type LocalRoutes, noContent } from '../http/local-routes.ts';
import { localLog } from '../log.ts';
import type { Connection, ConnectionRegistry } from './connections.ts';

type OpenConnection = Connection & { socket: WebSocket };

export function addDropRoutes(routes: LocalRoutes, registry: ConnectionRegistry): void {
  routes
    .add('POST', '/_local/connections/{connectionId}/drop', async ({ params }) => {
      const connectionId = params.connectionId ?? '';
      const connection = registry.open(connectionId);
      if (connection === undefined) {
        return json(404, { message: `no open connection ${JSON.stringify(connectionId)}` });
      }
      await drop(connection);
      return noContent;
    })
    // Clients do not learn their connection id; tests know the user they connected as.
    .add('POST', '/_local/users/{userId}/drop', async ({ params }) => {
      const userId = params.userId ?? '';
      const connections = registry
        .all()
        .filter((connection) => connection.authorizer.userId === userId)
        .flatMap((connection) => registry.open(connection.upgrade.connectionId) ?? []);
      await Promise.all(connections.map(drop));
      return json(200, { dropped: connections.map((connection) => connection.upgrade.connectionId) });
    });
}

/** Resolves once ws has reported the close, so the gateway's own close listener has already run. */
function drop(connection: OpenConnection): Promise<void> {
  const { socket, upgrade, label } = connection;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  localLog.info(`dropping ${upgrade.connectionId} ${label} (no close frame)`);
  socket.terminate();
  return closed;
}
