/**
 * `POST /_local/connections/{connectionId}/drop` and `POST /_local/users/{userId}/drop`: cut a client's
 * TCP socket at once, with no close frame, as a lost network would (the client sees 1006). The
 * gateway's usual close handling then runs `$disconnect`, as API Gateway does once it notices the
 * connection is gone. The answer comes after the gateway has let go of the connection (the management
 * API answers 410 for it), not after `$disconnect` has finished: that runs on, as it does in AWS.
 *
 * `…/lose` (fault injection, local/faults/lost-connections.ts) cuts the socket the same way but the
 * gateway never runs `$disconnect`: the connection item stays until delivery's next 410 removes it.
 */
import type { WebSocket } from 'ws';
import type { LostConnections } from '../faults/lost-connections.ts';
import { json, type LocalRoutes, noContent } from '../http/local-routes.ts';
import { localLog } from '../log.ts';
import type { Connection, ConnectionRegistry } from './connections.ts';

type OpenConnection = Connection & { socket: WebSocket };

export function addDropRoutes(
  routes: LocalRoutes,
  registry: ConnectionRegistry,
  lost?: LostConnections,
): void {
  addCutRoutes(routes, registry, 'drop', 'dropped', dropConnection);
  if (lost !== undefined) {
    addCutRoutes(routes, registry, 'lose', 'lost', (connection) => lost.lose(connection, 'POST …/lose'));
  }
}

function addCutRoutes(
  routes: LocalRoutes,
  registry: ConnectionRegistry,
  verb: string,
  done: string,
  cut: (connection: OpenConnection) => Promise<void>,
): void {
  routes
    .add('POST', `/_local/connections/{connectionId}/${verb}`, async ({ params }) => {
      const connectionId = params.connectionId ?? '';
      const connection = registry.open(connectionId);
      if (connection === undefined) {
        return json(404, { message: `no open connection ${JSON.stringify(connectionId)}` });
      }
      await cut(connection);
      return noContent;
    })
    // Clients do not learn their connection id; tests know the user they connected as.
    .add('POST', `/_local/users/{userId}/${verb}`, async ({ params }) => {
      const userId = params.userId ?? '';
      const connections = registry
        .all()
        .filter((connection) => connection.authorizer.userId === userId)
        .flatMap((connection) => registry.open(connection.upgrade.connectionId) ?? []);
      await Promise.all(connections.map(cut));
      return json(200, { [done]: connections.map((connection) => connection.upgrade.connectionId) });
    });
}

/**
 * Cuts the socket with no close frame; the gateway then runs `$disconnect`. Resolves once ws has reported
 * the close, so the gateway's own close listener has already run.
 */
export function dropConnection(connection: OpenConnection): Promise<void> {
  const { socket, upgrade, label } = connection;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  localLog.info(`dropping ${upgrade.connectionId} ${label} (no close frame)`);
  socket.terminate();
  return closed;
}
